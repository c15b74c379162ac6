using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>Deployments, their revisions and status, replica convergence and the routing table.</summary>
internal static class DeploymentsModule
{
    public static IHostApplicationBuilder AddDeployments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DeploymentStore>();
        builder.Services.AddSingleton<ReplicaStore>();
        builder.Services.AddSingleton<SnapshotReader>();
        builder.Services.AddSingleton<ConvergenceEvaluator>();
        builder.Services.AddSingleton<ControlPlaneNotifier>();
        builder.Services.AddSingleton<IVersionUsers, DeploymentVersionUsers>();
        return builder;
    }

    /// <summary>/api/v1/deployments...</summary>
    public static RouteGroupBuilder MapDeploymentsApi(this RouteGroupBuilder api) => api.MapDeploymentEndpoints();

    /// <summary><see cref="Contracts.ControlPlane.ControlPlaneRoutes.ReplicaHeartbeat"/> and <see cref="Contracts.ControlPlane.ControlPlaneRoutes.Routing"/>.</summary>
    public static RouteGroupBuilder MapDeploymentsInternal(this RouteGroupBuilder cluster) => cluster.MapClusterEndpoints();
}
