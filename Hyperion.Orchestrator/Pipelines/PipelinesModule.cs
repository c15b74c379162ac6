using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>Pipeline definitions: stored and checked here, run by the gateway (which reads them in the routing table).</summary>
internal static class PipelinesModule
{
    public static IHostApplicationBuilder AddPipelines(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PipelineStore>();
        builder.Services.AddSingleton<IVersionUsers, PipelineVersionUsers>();
        return builder;
    }

    /// <summary>/api/v1/pipelines...</summary>
    public static RouteGroupBuilder MapPipelinesApi(this RouteGroupBuilder api) => api.MapPipelineEndpoints();
}
