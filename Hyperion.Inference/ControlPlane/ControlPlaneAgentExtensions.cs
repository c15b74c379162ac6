using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.ControlPlane;

public static class ControlPlaneAgentExtensions
{
    /// <summary>
    /// The convergence agent (<see cref="ControlPlaneOptions"/>), when the configuration names an orchestrator:
    /// <c>services:orchestrator:http:0</c> (the AppHost's service reference) or <c>Inference:ControlPlane:OrchestratorUrl</c>.
    /// A standalone server names none and serves its repository folder unchanged.
    /// </summary>
    public static IHostApplicationBuilder AddControlPlaneAgent(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (string.IsNullOrWhiteSpace(configuration["services:orchestrator:http:0"])
            && string.IsNullOrWhiteSpace(configuration["services:orchestrator:https:0"])
            && string.IsNullOrWhiteSpace(configuration[$"{ControlPlaneOptions.SectionName}:{nameof(ControlPlaneOptions.OrchestratorUrl)}"]))
        {
            return builder;
        }

        builder.Services.AddValidatedOptions<ControlPlaneOptions, ControlPlaneOptionsValidator>(configuration, ControlPlaneOptions.SectionName);
        builder.Services.AddHttpClient(OrchestratorClient.HttpClientName, (services, http) =>
            http.BaseAddress = new Uri(services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value.OrchestratorUrl));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OrchestratorClient>();
        builder.Services.AddSingleton<ArtifactFetcher>();
        builder.Services.AddSingleton<ConvergenceMetrics>();
        builder.Services.AddSingleton<ModelConverger>();
        builder.Services.AddHostedService<ConvergenceAgent>();
        return builder;
    }
}
