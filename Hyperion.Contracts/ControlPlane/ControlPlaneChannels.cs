namespace Hyperion.Contracts.ControlPlane;

/// <summary>Redis pub/sub channels by which the Orchestrator tells the other services that something changed.</summary>
public static class ControlPlaneChannels
{
    /// <summary>A key was revoked (or deleted); the message is the key's SHA-256 hash in lowercase hex. Caches must drop it at once.</summary>
    public const string KeyRevoked = "hyperion:keys:revoked";

    /// <summary>
    /// A deployment's routing changed (the message is the model name) or a pipeline did (<c>pipeline:&lt;name&gt;</c>).
    /// Gateways refetch the routing table.
    /// </summary>
    public const string RoutingChanged = "hyperion:routing:changed";

    /// <summary>The set of model versions some replica must hold changed; the message is the model name. Replicas heartbeat at once.</summary>
    public const string DesiredChanged = "hyperion:desired:changed";
}
