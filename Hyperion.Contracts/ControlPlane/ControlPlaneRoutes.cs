namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// The Orchestrator's internal routes: called by Gateway and Inference replicas inside the cluster, never
/// forwarded by the Gateway (it forwards only <c>/api/v1</c>).
/// </summary>
public static class ControlPlaneRoutes
{
    /// <summary>PUT a <see cref="ReplicaReport"/>; answers the <see cref="DesiredModelSet"/> the replica must hold.</summary>
    public const string ReplicaHeartbeat = "/internal/v1/replicas/{replicaId}";

    /// <summary>GET the artifact bytes (streamed; the digest is <c>sha256:&lt;hex&gt;</c>).</summary>
    public const string Artifact = "/internal/v1/artifacts/{digest}";

    /// <summary>POST a <see cref="KeyLookupRequest"/>; answers the <see cref="KeyIdentity"/>, or 404 for an unknown, revoked or expired key.</summary>
    public const string KeyLookup = "/internal/v1/keys/lookup";

    /// <summary>GET the <see cref="RoutingTable"/>: every deployment's traffic policy in effect and where each version is ready.</summary>
    public const string Routing = "/internal/v1/routing";

    public static string ReplicaHeartbeatFor(string replicaId) => $"/internal/v1/replicas/{Uri.EscapeDataString(replicaId)}";

    public static string ArtifactFor(string digest) => $"/internal/v1/artifacts/{Uri.EscapeDataString(digest)}";
}
