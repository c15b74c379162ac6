using Hyperion.Inference;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hyperion.Tests.Engine;

/// <summary>The engine as the server wires it (AddInferenceEngine in a generic host), without the protocol front ends.</summary>
internal sealed class EngineHost : IAsyncDisposable
{
    private readonly IHost _host;

    private EngineHost(IHost host)
    {
        _host = host;
    }

    public IModelCatalog Catalog => _host.Services.GetRequiredService<IModelCatalog>();

    public IInferenceDispatcher Dispatcher => _host.Services.GetRequiredService<IInferenceDispatcher>();

    public InferenceMetrics Metrics => _host.Services.GetRequiredService<InferenceMetrics>();

    public static async Task<EngineHost> StartAsync(string repository, IDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Inference:ModelRepository"] = repository });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.Logging.ClearProviders();
        builder.Services.AddInferenceEngine(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        var engine = new EngineHost(host);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!engine.Catalog.IsServerReady)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the model repository did not finish loading");
            }
            await Task.Delay(10);
        }
        return engine;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
