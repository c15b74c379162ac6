using Hyperion.Orchestrator.Audit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hyperion.Orchestrator.Keys;

/// <summary>API keys (create, list, revoke) and the audit log's query API.</summary>
internal static class KeysModule
{
    public static IHostApplicationBuilder AddApiKeys(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<KeyIssuer>();
        builder.Services.AddSingleton<KeyRevoker>();
        builder.Services.AddSingleton<KeyRevokedNotices>();
        builder.Services.AddSingleton<AuditReader>();
        return builder;
    }

    /// <summary>/api/v1/keys...</summary>
    public static RouteGroupBuilder MapKeysApi(this RouteGroupBuilder api) => api.MapKeys();

    /// <summary>/api/v1/audit</summary>
    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api) => api.MapAuditQuery();

    /// <summary><see cref="Contracts.ControlPlane.ControlPlaneRoutes.KeyLookup"/>.</summary>
    public static RouteGroupBuilder MapKeysInternal(this RouteGroupBuilder cluster) => cluster.MapKeyLookup();
}
