using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using System.Globalization;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.Rollouts;

/// <summary>
/// The real graph for the progressive-delivery tests: the orchestrator sends every event to a webhook receiver
/// started before the graph, its rollout controller ticks twice a second, the previous stable stays loaded for
/// <see cref="RetentionSeconds"/> after a switch (short, so a test sees it unload), and the gateway does not rate
/// limit (the tests drive load with the admin key). Model-quality events go to the same receiver, and the drift
/// schedule runs every <see cref="DriftIntervalSeconds"/>.
/// </summary>
public sealed class RolloutAppFixture : HyperionAppFixture, IAsyncLifetime
{
    public const string Webhook = "rollouts";

    public const int RetentionSeconds = 25;

    /// <summary>The drift schedule's interval (short, so the model-quality tests see it act).</summary>
    public const int DriftIntervalSeconds = 2;

    /// <summary>Labelled rows the schedule needs before it judges quality (few, so a test can label them all).</summary>
    public const int MinLabelledRows = 10;

    public static string Secret => "test-secret-of-the-rollout-webhook";

    public static string HookPath => "/hooks/rollouts";

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

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        var orchestrator = builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "orchestrator"));
        orchestrator
            .WithEnvironment("Orchestrator__Webhooks__0__Name", Webhook)
            .WithEnvironment("Orchestrator__Webhooks__0__Url", Receiver.UrlOf(HookPath))
            .WithEnvironment("Orchestrator__Webhooks__0__Secret", Secret)
            .WithEnvironment("Orchestrator__Webhooks__0__Events", "rollout.*,deployment.rolled_back,model.*")
            .WithEnvironment("Orchestrator__WebhookDelivery__BaseDelaySeconds", "0.2")
            .WithEnvironment("Orchestrator__WebhookDelivery__MaxDelaySeconds", "1")
            .WithEnvironment("Orchestrator__Rollouts__TickSeconds", "0.5")
            .WithEnvironment("Orchestrator__Rollouts__PreviousStableRetentionSeconds", RetentionSeconds.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__Quality__DriftIntervalSeconds", DriftIntervalSeconds.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("Orchestrator__Quality__MinLabelledRows", MinLabelledRows.ToString(CultureInfo.InvariantCulture));
        var gateway = builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "gateway"));
        gateway.WithEnvironment("Gateway__RateLimiting__Enabled", "false");
    }
}

[CollectionDefinition(Name)]
public sealed class RolloutAppCollection : ICollectionFixture<RolloutAppFixture>
{
    public const string Name = "Hyperion graph for rollouts";
}
