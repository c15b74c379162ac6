using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Hyperion.Inference.Serving;

/// <summary>Readiness: unhealthy until the repository's start-up load has tried every model.</summary>
internal sealed class InferenceEngineHealthCheck(IModelCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(catalog.IsServerReady
            ? HealthCheckResult.Healthy("model repository loaded")
            : HealthCheckResult.Unhealthy("model repository is still loading"));
}
