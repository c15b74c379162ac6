using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Deployments, live replicas and what each replica reported, read together: desired sets, status, the routing
/// table and the blue-green switch are all computed from one snapshot by <see cref="ConvergencePlan"/>.
/// </summary>
internal sealed record ClusterSnapshot(
    IReadOnlyList<DeploymentRecord> Deployments,
    IReadOnlyList<LiveReplica> Replicas,
    IReadOnlyList<ReplicaVersionState> States,
    IReadOnlyDictionary<(string Model, long Version), VersionArtifact> Artifacts);

/// <param name="ServingStable">The version taking stable traffic; null until the first stable is ready everywhere.</param>
/// <param name="RetainedStable">
/// The stable that served before the last switch, kept loaded until <paramref name="RetainedUntil"/> so a rollback is
/// instant (<c>Orchestrator:Rollouts:PreviousStableRetentionSeconds</c>); null once that time has passed.
/// </param>
internal sealed record DeploymentRecord(
    string Model,
    long Revision,
    DeploymentSpec Spec,
    long? ServingStable,
    DateTimeOffset UpdatedAt,
    long? RetainedStable = null,
    DateTimeOffset? RetainedUntil = null);

internal sealed record LiveReplica(string Id, string Pool, string HttpUrl, string? GrpcUrl, DateTimeOffset StartedAt, DateTimeOffset LastSeen);

internal sealed record ReplicaVersionState(string Replica, string Model, long Version, ReplicaModelPhase State, string? Reason);

/// <param name="Config">The version's stored repository config (<c>model_versions.config</c>).</param>
internal sealed record VersionArtifact(string Digest, long SizeBytes, JsonObject Config);
