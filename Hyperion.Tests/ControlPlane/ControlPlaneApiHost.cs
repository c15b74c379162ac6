using Hyperion.Orchestrator;
using Hyperion.Orchestrator.Api;
using Hyperion.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// The orchestrator's API composed as its Program.cs does (<c>AddControlPlaneApi</c>, <c>MapControlPlaneApi</c>) on a
/// test server, with no PostgreSQL or Redis behind it and none of its background services: for what needs no data,
/// such as the OpenAPI document and the answer to an unexpected error.
/// </summary>
internal sealed class ControlPlaneApiHost(WebApplication app, TemporaryDirectory artifacts, InMemoryLoggerProvider logs) : IAsyncDisposable
{
    public HttpClient Client { get; } = app.GetTestServer().CreateClient();

    /// <summary>What the API logged, from Information up.</summary>
    public InMemoryLoggerProvider Logs => logs;

    /// <param name="mapMore">Endpoints to add after the API's own (the pipeline, error handling included, is the API's).</param>
    public static async Task<ControlPlaneApiHost> StartAsync(Action<WebApplication>? mapMore = null)
    {
        var artifacts = new TemporaryDirectory("hyperion-api");
        var logs = new InMemoryLoggerProvider();
        var builder = ServiceBuilders.Web(new Dictionary<string, string?>
        {
            [$"{OrchestratorOptions.SectionName}:{nameof(OrchestratorOptions.ArtifactsPath)}"] = artifacts.Path,
        });
        builder.Logging.AddProvider(logs);
        // Never opened: it is here so that handlers taking it bind it as a service, as in production.
        builder.Services.AddSingleton(NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=none;Database=none"));
        builder.AddControlPlaneApi();
        // No database to migrate, sweep or poll. (WebApplicationBuilder adds its own server's hosted service at Build.)
        foreach (var hosted in builder.Services.Where(service => service.ServiceType == typeof(IHostedService)).ToList())
        {
            builder.Services.Remove(hosted);
        }
        var api = builder.Build();
        api.MapControlPlaneApi();
        mapMore?.Invoke(api);
        await api.StartAsync();
        return new ControlPlaneApiHost(api, artifacts, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.DisposeAsync();
        artifacts.Dispose();
    }
}
