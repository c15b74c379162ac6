namespace Hyperion.Orchestrator.Registry;

/// <summary>Models, versions and the artifact store.</summary>
internal static class RegistryModule
{
    public static IHostApplicationBuilder AddRegistry(this IHostApplicationBuilder builder) => builder;

    /// <summary>/api/v1/models...</summary>
    public static RouteGroupBuilder MapRegistryApi(this RouteGroupBuilder api) => api;

    /// <summary><see cref="Contracts.ControlPlane.ControlPlaneRoutes.Artifact"/>.</summary>
    public static RouteGroupBuilder MapRegistryInternal(this RouteGroupBuilder cluster) => cluster;
}
