namespace Hyperion.Orchestrator.Deployments;

/// <summary>Deployments, their revisions and status, replica convergence and the routing table.</summary>
internal static class DeploymentsModule
{
    public static IHostApplicationBuilder AddDeployments(this IHostApplicationBuilder builder) => builder;

    /// <summary>/api/v1/deployments...</summary>
    public static RouteGroupBuilder MapDeploymentsApi(this RouteGroupBuilder api) => api;

    /// <summary><see cref="Contracts.ControlPlane.ControlPlaneRoutes.ReplicaHeartbeat"/> and <see cref="Contracts.ControlPlane.ControlPlaneRoutes.Routing"/>.</summary>
    public static RouteGroupBuilder MapDeploymentsInternal(this RouteGroupBuilder cluster) => cluster;
}
