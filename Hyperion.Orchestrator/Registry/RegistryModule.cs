using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Orchestrator.Registry.Cards;
using Hyperion.Orchestrator.Registry.Lifecycle;
using Hyperion.Orchestrator.Registry.Validation;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Registry;

/// <summary>Models, versions and the artifact store.</summary>
internal static class RegistryModule
{
    public static IHostApplicationBuilder AddRegistry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RegistryOptions, RegistryOptionsValidator>(builder.Configuration, RegistryOptions.SectionName);

        builder.Services.AddSingleton(services => new FileSystemArtifactStore(services.GetRequiredService<IOptions<OrchestratorOptions>>().Value.ArtifactsPath));
        builder.Services.AddSingleton<IArtifactStore>(services => services.GetRequiredService<FileSystemArtifactStore>());
        builder.Services.AddHostedService<ArtifactStagingCleanup>();
        builder.Services.AddHostedService<ArtifactOrphanSweeper>();
        builder.Services.AddSingleton<ArtifactInspector>();
        builder.Services.AddSingleton<RegistryStore>();
        builder.Services.AddSingleton<VersionLifecycleStore>();
        builder.Services.AddSingleton<ModelPolicyStore>();
        builder.Services.AddSingleton<ModelCardStore>();
        builder.Services.AddSingleton<VersionUpload>();
        builder.Services.AddSingleton<RegistryMetrics>();
        return builder;
    }

    /// <summary>/api/v1/models...</summary>
    public static RouteGroupBuilder MapRegistryApi(this RouteGroupBuilder api)
    {
        var registry = api.MapGroup("").RequireAuthorization(ScopePolicies.Deploy).WithTags("Registry")
            .AddEndpointFilter(RegistryDatabaseFilter.InvokeAsync)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable); // the filter's answer, which no handler's type shows
        registry.MapModelEndpoints();
        registry.MapVersionEndpoints();
        registry.MapVersionLifecycleEndpoints();
        registry.MapModelCardEndpoints();
        // Calls an approver makes too: a key with only 'approve' moves versions to production and sets the policy.
        var approvals = api.MapGroup("").RequireAuthorization(ScopePolicies.DeployOrApprove).WithTags("Registry")
            .AddEndpointFilter(RegistryDatabaseFilter.InvokeAsync)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        approvals.MapVersionStageEndpoint();
        approvals.MapModelPolicyEndpoints();
        return api;
    }

    /// <summary><see cref="Contracts.ControlPlane.ControlPlaneRoutes.Artifact"/>: artifacts by digest, for inference replicas.</summary>
    public static RouteGroupBuilder MapRegistryInternal(this RouteGroupBuilder cluster)
    {
        cluster.MapMethods("/artifacts/{digest}", [HttpMethods.Get, HttpMethods.Head], async Task<Results<ArtifactResult, BadRequestProblem, NotFoundProblem>> (
            string digest, IArtifactStore artifacts, CancellationToken cancellationToken) =>
        {
            if (!ArtifactDigest.TryParse(digest, out _))
            {
                return ApiProblems.BadRequest($"'{digest}' is not an artifact digest; expected {ArtifactDigest.Expected}");
            }
            var content = await artifacts.OpenReadAsync(digest, cancellationToken);
            return content is null
                ? ApiProblems.NotFound($"no artifact {digest} in the store")
                : new ArtifactResult(content, fileName: null);
        }).WithName("GetArtifactByDigest");
        return cluster;
    }
}
