using System.Text.Json.Nodes;

namespace Hyperion.Contracts.ControlPlane;

/// <summary>An inference replica's heartbeat: where it listens and the state of every model version it holds or is loading.</summary>
public sealed record ReplicaReport(
    string Pool,
    string HttpUrl,
    string? GrpcUrl,
    DateTimeOffset StartedAt,
    IReadOnlyList<ReplicaModelState> Models);

public sealed record ReplicaModelState(string Model, long Version, ReplicaModelPhase State, string? Reason);

public enum ReplicaModelPhase
{
    Loading,
    Ready,
    Failed,
    Unloading,
}

/// <summary>The answer to a heartbeat: what the replica must hold. Versions not listed are unloaded.</summary>
/// <param name="HeartbeatTtlSeconds">A replica not heard from for this long is no longer counted.</param>
public sealed record DesiredModelSet(int HeartbeatIntervalSeconds, int HeartbeatTtlSeconds, IReadOnlyList<DesiredModelVersion> Models);

/// <param name="Digest"><c>sha256:&lt;hex&gt;</c>; fetch it from <see cref="ControlPlaneRoutes.Artifact"/> and check it before loading.</param>
/// <param name="Config">The repository config (API.md's config.json) with the deployment's overrides applied.</param>
public sealed record DesiredModelVersion(string Model, long Version, string Digest, long SizeBytes, JsonObject Config);
