using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.Jobs;

/// <summary>
/// The graph with two inference replicas, a webhook receiver started before it, and small job chunks and leases, so
/// that a job spans many chunks and a killed worker's lease runs out within seconds. Its own graph: the tests kill
/// the orchestrator.
/// </summary>
public sealed class JobsFixture : HyperionAppFixture, IAsyncLifetime
{
    public const int ChunkLines = 40;
    public const int LeaseSeconds = 4;

    public WebhookReceiver Receiver { get; private set; } = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        try
        {
            await InitializeAsync();
        }
        catch
        {
            await Receiver.DisposeAsync();
            throw;
        }
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Receiver.DisposeAsync();
    }

    protected override void Configure(IDictionary<string, string?> settings) => settings["Hyperion:InferenceReplicas"] = "2";

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "orchestrator"))
            .WithEnvironment("Orchestrator__Jobs__ChunkLines", ChunkLines.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__Jobs__LeaseSeconds", LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__Jobs__PollSeconds", "0.5")
            .WithEnvironment("Orchestrator__Jobs__TargetWaitSeconds", "20")
            .WithEnvironment("Orchestrator__WebhookDelivery__BaseDelaySeconds", "0.2");
    }
}

[CollectionDefinition(Name)]
public sealed class JobsCollection : ICollectionFixture<JobsFixture>
{
    public const string Name = "Hyperion graph for batch jobs";
}
