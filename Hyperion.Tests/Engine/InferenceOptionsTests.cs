using Hyperion.Inference.ControlPlane;
using Hyperion.Inference.Protocol;
using Hyperion.Tests.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hyperion.Tests.Engine;

/// <summary>The inference server's sections (engine, protocols, convergence agent) as Program.cs registers them: every bad setting is reported at once, by its path.</summary>
public sealed class InferenceOptionsTests
{
    [Fact]
    public async Task Several_bad_engine_settings_stop_the_start_naming_every_one()
    {
        using var repository = new TemporaryDirectory();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EngineHost.StartAsync(repository.Path, new Dictionary<string, string?>
        {
            ["Inference:DefaultMaxQueueSize"] = "0",
            ["Inference:DefaultMaxBatchSize"] = "-1",
            ["Inference:InlineExecutionMaxMicroseconds"] = "-5",
        }));

        Assert.Contains("Inference:DefaultMaxQueueSize must be at least 1, got 0.", error.Message);
        Assert.Contains("Inference:DefaultMaxBatchSize must be at least 1, got -1.", error.Message);
        Assert.Contains("Inference:InlineExecutionMaxMicroseconds must be 0 (never) or positive, got -5.", error.Message);
        Assert.Equal(3, error.Failures.Count());
    }

    [Fact]
    public void Bad_listener_settings_stop_the_start_before_kestrel_is_configured()
    {
        var builder = ServiceBuilders.Web(new() { ["Inference:MaxRequestBodyBytes"] = "0", ["Inference:GrpcUrl"] = "ftp://nowhere" });

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddInferenceProtocols());

        Assert.Contains("Inference:MaxRequestBodyBytes must be between 1 and 2147483591, got 0.", error.Message);
        Assert.Contains("Inference:GrpcUrl 'ftp://nowhere' must be an http:// URL", error.Message);
        Assert.Equal(2, error.Failures.Count());
    }

    [Fact]
    public void Several_bad_agent_settings_stop_the_start_naming_every_one()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Inference:ControlPlane:OrchestratorUrl"] = "orchestrator:8080",
            ["Inference:ControlPlane:Pool"] = "GPU!",
            ["Inference:ControlPlane:MaxRetryDelaySeconds"] = "0",
            ["Inference:ControlPlane:HeartbeatIntervalSeconds"] = "0",
        });
        builder.AddControlPlaneAgent();
        using var host = builder.Build();

        // The checks StartAsync runs (starting would also need the engine and a server for the agent).
        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Inference:ControlPlane:OrchestratorUrl 'orchestrator:8080' must be an http(s) URL", error.Message);
        Assert.Contains("Inference:ControlPlane:Pool 'GPU!' must be lowercase letters", error.Message);
        Assert.Contains("Inference:ControlPlane:MaxRetryDelaySeconds must be at least 1, got 0.", error.Message);
        Assert.Contains("Inference:ControlPlane:HeartbeatIntervalSeconds must be at least 1", error.Message);
        Assert.Equal(4, error.Failures.Count());
    }
}
