using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// The real graph with the orchestrator configured for webhooks that point at test receivers (started before the
/// graph), with small back-off settings. Its own graph: the tests stop and restart the orchestrator.
/// </summary>
public sealed class WebhookAppFixture : HyperionAppFixture, IAsyncLifetime
{
    /// <summary>Subscribed to everything; always answers 200.</summary>
    public const string Ops = "ops";

    /// <summary>Subscribed to rollout.promoted; tests queue failures on it.</summary>
    public const string Flaky = "flaky";

    /// <summary>Subscribed to deployment.updated; answers 500 until told otherwise, and gives up after 3 attempts.</summary>
    public const string Dead = "dead";

    /// <summary>Subscribed to rollout.paused; its receiver (<see cref="Restartable"/>) is down until a test starts it.</summary>
    public const string Restart = "restart";

    /// <summary>Subscribed to deployment.rolled_back; its receiver answers after 5 s, past the 1 s time-out, and it has one attempt.</summary>
    public const string Slow = "slow";

    public const int DeadMaxAttempts = 3;

    public WebhookReceiver Receiver { get; private set; } = null!;

    public WebhookReceiver Restartable { get; } = WebhookReceiver.Reserve();

    /// <summary>The settings the orchestrator was started with, for tests that enqueue through <see cref="WebhookOutbox"/> themselves.</summary>
    public IReadOnlyDictionary<string, string> OrchestratorSettings => _settings;

    private readonly Dictionary<string, string> _settings = new(StringComparer.Ordinal);

    public static string SecretOf(string webhook) => $"test-secret-of-{webhook}-0123456789";

    public static string PathOf(string webhook) => $"/hooks/{webhook}";

    // Re-implemented (xUnit calls these through the interface) so the receivers start before the graph and stop after it.
    async Task IAsyncLifetime.InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        Receiver.AnswerByDefault(PathOf(Dead), 500);
        AddWebhook(0, Ops, Receiver.UrlOf(PathOf(Ops)), "*");
        AddWebhook(1, Flaky, Receiver.UrlOf(PathOf(Flaky)), "rollout.promoted");
        AddWebhook(2, Dead, Receiver.UrlOf(PathOf(Dead)), "deployment.updated");
        _settings[$"{Key(2)}:MaxAttempts"] = DeadMaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        AddWebhook(3, Restart, Restartable.UrlOf(PathOf(Restart)), "rollout.paused");
        Receiver.DelayAnswers(PathOf(Slow), TimeSpan.FromSeconds(5));
        AddWebhook(4, Slow, Receiver.UrlOf(PathOf(Slow)), "deployment.rolled_back");
        _settings[$"{Key(4)}:TimeoutSeconds"] = "1";
        _settings[$"{Key(4)}:MaxAttempts"] = "1";
        _settings["Orchestrator:WebhookDelivery:MaxAttempts"] = "50";
        _settings["Orchestrator:WebhookDelivery:BaseDelaySeconds"] = "0.2";
        _settings["Orchestrator:WebhookDelivery:MaxDelaySeconds"] = "1";
        // Long on purpose: new events must arrive through NOTIFY, not because a poll came round.
        _settings["Orchestrator:WebhookDelivery:PollIntervalSeconds"] = "30";
        try
        {
            await InitializeAsync();
        }
        catch
        {
            // xUnit does not dispose a fixture whose initialisation failed.
            await Receiver.DisposeAsync();
            throw;
        }
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Receiver.DisposeAsync();
        await Restartable.DisposeAsync();
    }

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        var orchestrator = builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(resource => resource.Name == "orchestrator"));
        foreach (var (key, value) in _settings)
        {
            orchestrator.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
        }
    }

    private void AddWebhook(int index, string name, string url, string events)
    {
        _settings[$"{Key(index)}:Name"] = name;
        _settings[$"{Key(index)}:Url"] = url;
        _settings[$"{Key(index)}:Secret"] = SecretOf(name);
        _settings[$"{Key(index)}:Events:0"] = events;
    }

    private static string Key(int index) => $"Orchestrator:Webhooks:{index}";
}

[CollectionDefinition(Name)]
public sealed class WebhookAppCollection : ICollectionFixture<WebhookAppFixture>
{
    public const string Name = "Hyperion graph with webhooks";
}
