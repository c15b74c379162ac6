using Hyperion.AppHost.Hosting;

namespace Hyperion.Tests.Hosting;

/// <summary>
/// The whole Hyperion graph (real PostgreSQL, Redis and services, from the AppHost's own declaration)
/// on free ports and a temporary state directory, booted once for every test class in
/// <see cref="HyperionAppCollection"/> and torn down after the last one.
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
    /// <summary>Generous: several engineers share two cores, and four .NET services start together.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly TemporaryDirectory _state = new("hyperion-graph");
    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The graph is not started yet.");

    /// <summary>The AppHost's own messages (restarts, stops), for assertions.</summary>
    public InMemoryLoggerProvider AppHostLog { get; } = new();

    public string StateDirectory => _state.Path;

    /// <summary>Every instance as it was when the graph first became healthy (tests may restart resources later).</summary>
    public IReadOnlyList<ResourceSnapshot> BootSnapshots { get; private set; } = [];

    public int InferenceReplicas => ((ProcessResource)App.GetResource("inference")).Replicas;

    /// <summary>The bootstrap admin key the orchestrator wrote on first start.</summary>
    public string AdminKey => File.ReadAllText(Path.Combine(StateDirectory, "admin-key")).Trim();

    /// <summary>A client of <paramref name="resourceName"/> that sends <c>Authorization: Bearer &lt;key&gt;</c> (the admin key when null).</summary>
    public HttpClient CreateApiClient(string resourceName = "orchestrator", string? key = null, int replica = 0)
    {
        var client = CreateHttpClient(resourceName, "http", replica);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key ?? AdminKey);
        return client;
    }

    public HttpClient CreateHttpClient(string resourceName, string endpointName = "http", int replica = 0) =>
        App.CreateHttpClient(resourceName, endpointName, replica);

    public string GetConnectionString(string resourceName) => App.GetConnectionString(resourceName);

    public Uri GetEndpoint(string resourceName, string endpointName = "http", int replica = 0) => App.GetEndpoint(resourceName, endpointName, replica);

    public Task WaitForHealthyAsync(string name, TimeSpan? timeout = null) => App.WaitForHealthyAsync(name, timeout ?? StartTimeout);

    /// <summary>Settings on top of the test defaults (e.g. "Hyperion:InferenceReplicas"); override in a derived fixture.</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
        settings["AppHost:DashboardUrl"] = "http://127.0.0.1:0";
    }

    /// <summary>Resources or environment added to the declared graph; override in a derived fixture.</summary>
    protected virtual void ConfigureGraph(IDistributedApplicationBuilder builder)
    {
    }

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>();
        Configure(settings);
        var builder = DistributedApplicationTestingBuilder.CreateHyperion(_state.Path, AppHostLog, settings);
        ConfigureGraph(builder);
        _app = builder.Build();
        try
        {
            await _app.StartAsync();
            await _app.WaitForAllHealthyAsync(StartTimeout);
            BootSnapshots = _app.ResourceNotifications.GetSnapshots();
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
            await _app.DisposeAsync();
        }
        _state.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class HyperionAppCollection : ICollectionFixture<HyperionAppFixture>
{
    public const string Name = "Hyperion graph";
}
