using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Hyperion.AppHost.LocalServices;
using Hyperion.AppHost.Replicas;
using Hyperion.AppHost.Supervision;
using Hyperion.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.Graph;

/// <summary>
/// The whole Hyperion graph, started by Aspire.Hosting.Testing from the AppHost's own Program (real PostgreSQL,
/// Redis and services under DCP) on free ports and a temporary state directory, once for every test class in
/// <see cref="HyperionAppCollection"/>, and stopped after the last one.
/// </summary>
/// <example>
/// [Collection(HyperionAppCollection.Name)]
/// public sealed class MyTests(HyperionAppFixture hyperion)
/// {
///     [Fact]
///     public async Task Gateway_is_up()
///     {
///         using var client = hyperion.CreateHttpClient("gateway");
///         Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
///     }
/// }
/// </example>
public class HyperionAppFixture : IAsyncLifetime
{
    /// <summary>Generous: several engineers share two cores, and five .NET services start together.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly TemporaryDirectory _state = new("hyperion-graph");
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The graph is not started yet.");

    /// <summary>The AppHost's own messages (restarts), for assertions.</summary>
    public InMemoryLoggerProvider AppHostLog { get; } = new();

    public string StateDirectory => _state.Path;

    /// <summary>Every instance as it was when the graph first became healthy (tests may restart resources later).</summary>
    public IReadOnlyList<InstanceState> BootSnapshots { get; private set; } = [];

    public int InferenceReplicas => ReplicasOf("inference").Count;

    /// <summary>The bootstrap admin key the orchestrator wrote on first start.</summary>
    public string AdminKey => File.ReadAllText(Path.Combine(StateDirectory, "admin-key")).Trim();

    /// <summary>A client of <paramref name="service"/> that sends <c>Authorization: Bearer &lt;key&gt;</c> (the admin key when null).</summary>
    public HttpClient CreateApiClient(string service = "orchestrator", string? key = null, int replica = 0)
    {
        var client = CreateHttpClient(service, "http", replica);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key ?? AdminKey);
        return client;
    }

    /// <summary>A plain HttpClient (no retries, so tests see what users see) for one replica's endpoint.</summary>
    public HttpClient CreateHttpClient(string service, string endpointName = "http", int replica = 0) =>
        new() { BaseAddress = GetEndpoint(service, endpointName, replica), Timeout = TimeSpan.FromSeconds(30) };

    public string GetConnectionString(string resourceName) =>
        App.GetConnectionStringAsync(resourceName).AsTask().GetAwaiter().GetResult()
        ?? throw new InvalidOperationException($"'{resourceName}' has no connection string.");

    public Uri GetEndpoint(string service, string endpointName = "http", int replica = 0) => App.GetEndpoint(InstanceName(service, replica), endpointName);

    /// <summary>The resource that runs replica <paramref name="replica"/> of <paramref name="service"/> ("inference", 1 → "inference-1"; "orchestrator" → itself).</summary>
    public string InstanceName(string service, int replica = 0)
    {
        var replicas = ReplicasOf(service);
        return replicas.Count == 0 ? service : replicas[replica].Name;
    }

    public IReadOnlyList<IResource> ReplicasOf(string service) => ReplicasOf(App.Services.GetRequiredService<DistributedApplicationModel>().Resources, service);

    /// <summary>The replicas of <paramref name="service"/> in order, while the graph is declared (for WithEnvironment on each).</summary>
    public static IReadOnlyList<IResourceBuilder<ProjectResource>> ReplicasOf(IDistributedApplicationTestingBuilder builder, string service) =>
        [.. ReplicasOf(builder.Resources, service).Cast<ProjectResource>().Select(builder.CreateResourceBuilder)];

    private static List<IResource> ReplicasOf(IEnumerable<IResource> resources, string service) =>
        [.. resources
            .Select(r => (Resource: r, Replica: r.Annotations.OfType<ServiceReplicaAnnotation>().FirstOrDefault()))
            .Where(r => r.Replica?.Service == service)
            .OrderBy(r => r.Replica!.Index)
            .Select(r => r.Resource)];

    /// <summary>The current state of one resource (an instance: "inference-0", "cache").</summary>
    public InstanceState Snapshot(string instance) =>
        App.ResourceNotifications.TryGetCurrentState(instance, out var current)
            ? InstanceState.From(current, Restarts(instance))
            : throw new KeyNotFoundException($"No resource named '{instance}'.");

    /// <summary>Every resource's current state.</summary>
    public IReadOnlyList<InstanceState> Snapshots() =>
        [.. App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            // The graph's own resources, not the hidden helpers Aspire adds (a project's "-rebuilder").
            .Where(r => r is ProjectResource or LocalRedisResource or LocalPostgresServerResource or LocalPostgresDatabaseResource)
            .Select(r => Snapshot(r.Name))];

    /// <summary>The service's own process (for a project, the child of the <c>dotnet run</c> that DCP starts), or null while none runs.</summary>
    public int? ProcessId(string instance)
    {
        var state = Snapshot(instance);
        if (state.Pid is not { } pid || !state.IsRunning)
        {
            return null;
        }
        return App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == instance) is ProjectResource
            ? ProcessInspector.ChildOf(pid)
            : pid;
    }

    public int Restarts(string instance) =>
        App.Services.GetRequiredService<CrashRestarter>().RestartsOf(instance);

    /// <summary>Stops a resource, or every replica of a service ("inference"), as the dashboard's Stop does (no restart follows), and waits until it has stopped.</summary>
    public async Task StopAsync(string name)
    {
        foreach (var instance in InstancesOf(name))
        {
            var result = await App.ResourceCommands.ExecuteCommandAsync(instance, KnownResourceCommands.StopCommand);
            Assert.True(result.Success, $"stopping {instance}: {result.Message}");
            await WaitForAsync(instance, s => s.IsStopped, StartTimeout, "stopped");
        }
    }

    /// <summary>Starts a stopped resource, or every replica of a service; returns without waiting for health.</summary>
    public async Task StartAsync(string name)
    {
        foreach (var instance in InstancesOf(name))
        {
            var result = await App.ResourceCommands.ExecuteCommandAsync(instance, KnownResourceCommands.StartCommand);
            Assert.True(result.Success, $"starting {instance}: {result.Message}");
        }
    }

    private IEnumerable<string> InstancesOf(string name) =>
        ReplicasOf(name) is { Count: > 0 } replicas ? replicas.Select(r => r.Name) : [name];

    /// <summary>Waits until a resource, or every replica of a service ("inference"), is healthy.</summary>
    public async Task WaitForHealthyAsync(string name, TimeSpan? timeout = null)
    {
        foreach (var instance in InstancesOf(name))
        {
            await WaitForAsync(instance, s => s.IsHealthy, timeout ?? StartTimeout, "healthy");
        }
    }

    public async Task WaitForAllHealthyAsync(TimeSpan? timeout = null)
    {
        foreach (var instance in Snapshots().Select(s => s.Name))
        {
            await WaitForHealthyAsync(instance, timeout);
        }
    }

    /// <summary>Waits until <paramref name="predicate"/> holds for the instance; on time-out the exception shows every state and the instance's last output.</summary>
    public async Task WaitForAsync(string instance, Func<InstanceState, bool> predicate, TimeSpan timeout, string what)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await App.ResourceNotifications.WaitForResourceAsync(instance, e => predicate(InstanceState.From(e, Restarts(instance))), cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'{instance}' was not {what} within {timeout.TotalSeconds:0}s.{Environment.NewLine}{await DescribeAsync(instance)}");
        }
    }

    /// <summary>Every line the resource wrote (stdout and stderr), oldest first.</summary>
    public async Task<IReadOnlyList<LogLine>> LogLinesAsync(string instance)
    {
        var lines = new List<LogLine>();
        var resource = App.Services.GetRequiredService<DistributedApplicationModel>().Resources.FirstOrDefault(r => r.Name == instance)
            ?? throw new KeyNotFoundException($"No resource named '{instance}'.");
        await foreach (var batch in App.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(resource))
        {
            lines.AddRange(batch);
        }
        return lines;
    }

    private async Task<string> DescribeAsync(string instance)
    {
        var text = new System.Text.StringBuilder();
        foreach (var s in Snapshots())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {s.Name,-14} {s.State,-12} healthy={s.IsHealthy} pid={s.Pid} restarts={s.Restarts} exit={s.ExitCode}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"--- last output of {instance} ---");
        foreach (var line in (await LogLinesAsync(instance)).TakeLast(25))
        {
            text.AppendLine("  " + line.Content);
        }
        return text.ToString();
    }

    /// <summary>Settings on top of the test defaults (e.g. "Hyperion:InferenceReplicas"); override in a derived fixture.</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
    }

    /// <summary>Resources or environment added to the declared graph; override in a derived fixture.</summary>
    protected virtual void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
    }

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hyperion:StateDirectory"] = _state.Path,
            ["Hyperion:GatewayPort"] = "0",
            ["Hyperion:DeploySample"] = "false",
            ["Hyperion:Supervision:RestartBackoffMaxSeconds"] = "2",
        };
        Configure(settings);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Hyperion_AppHost>(
            [.. settings.Select(s => $"--{s.Key}={s.Value}")],
            (options, _) => options.DisableDashboard = true);
        builder.Services.AddLogging(logging => logging
            .AddProvider(AppHostLog)
            // Every resource's output would be echoed into the test log (and a stopped service's failing health checks):
            // a test that times out prints the states and the last lines of the resource it waited for.
            .AddFilter("Hyperion.AppHost.Resources", LogLevel.None)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            // No dashboard receives telemetry in tests: spans are recorded only where a test asks for them.
            builder.CreateResourceBuilder(project).WithEnvironment(context => context.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT"));
        }
        ConfigureGraph(builder);
        _app = await builder.BuildAsync();
        try
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            await _app.StartAsync(timeout.Token);
            await WaitForAllHealthyAsync();
            BootSnapshots = Snapshots();
        }
        catch
        {
            // xUnit does not dispose a fixture whose initialisation failed: leave no processes behind.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
        // DCP stops a project by stopping the `dotnet run` in front of it; on a loaded machine the service behind it
        // has been seen to outlive that. Nothing of this graph may outlive the fixture.
        foreach (var leftover in ProcessInspector.FindByEnvironmentOrCommandLine(_state.Path))
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(int.Parse(leftover.Split(' ')[0], CultureInfo.InvariantCulture)).Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                // Gone meanwhile.
            }
        }
        _state.Dispose();
    }
}

/// <summary>One resource's state as tests read it.</summary>
public sealed record InstanceState(string Name, string? State, bool IsHealthy, int? Pid, int Restarts, int? ExitCode, DateTime? StartedAt)
{
    public bool IsRunning => State == KnownResourceStates.Running;

    /// <summary>Stopped on request (DCP's "Terminated"), or exited.</summary>
    public bool IsStopped => State is "Terminated" or "Finished" or "Exited";

    internal static InstanceState From(ResourceEvent resourceEvent, int restarts)
    {
        var snapshot = resourceEvent.Snapshot;
        var pid = snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
        return new InstanceState(
            resourceEvent.Resource.Name,
            snapshot.State?.Text,
            snapshot.State?.Text == KnownResourceStates.Running && snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            pid switch { int i => i, long l => (int)l, string s when int.TryParse(s, CultureInfo.InvariantCulture, out var p) => p, _ => null },
            restarts,
            snapshot.ExitCode,
            snapshot.StartTimeStamp);
    }
}

[CollectionDefinition(Name)]
public sealed class HyperionAppCollection : ICollectionFixture<HyperionAppFixture>
{
    public const string Name = "Hyperion graph";
}
