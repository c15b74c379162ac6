using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// What follows from a <see cref="ClusterSnapshot"/>, computed the same way for heartbeats, status and routing:
/// <list type="bullet">
/// <item>a deployment is held by the live replicas of its pool (<c>replicas: n</c>: n of them, by rendezvous hashing);</item>
/// <item>each of those must hold the desired stable, the serving stable while it differs (so traffic never drops
/// while the new one loads), the canary and the shadow;</item>
/// <item>blue-green: the serving stable moves to the desired stable only once that version is ready on every
/// replica holding the deployment;</item>
/// <item>a canary or shadow arm takes traffic once its version is ready on at least one of them (the routing table
/// sends its share only to the replicas it is ready on).</item>
/// </list>
/// </summary>
internal sealed class ConvergencePlan
{
    private readonly ClusterSnapshot _snapshot;
    private readonly Dictionary<string, List<LiveReplica>> _replicasByPool;
    private readonly Dictionary<(string Replica, string Model, long Version), ReplicaVersionState> _states;

    public ConvergencePlan(ClusterSnapshot snapshot)
    {
        _snapshot = snapshot;
        _replicasByPool = snapshot.Replicas
            .OrderBy(replica => replica.Id, StringComparer.Ordinal)
            .GroupBy(replica => replica.Pool, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.ToList(), StringComparer.Ordinal);
        _states = new Dictionary<(string, string, long), ReplicaVersionState>();
        foreach (var state in snapshot.States)
        {
            _states[(state.Replica, state.Model, state.Version)] = state;
        }
    }

    public ClusterSnapshot Snapshot => _snapshot;

    /// <summary>The live replicas that hold <paramref name="deployment"/>, ordered by id.</summary>
    public IReadOnlyList<LiveReplica> AssignedReplicas(DeploymentRecord deployment)
    {
        if (!_replicasByPool.TryGetValue(deployment.Spec.Pool, out var pool))
        {
            return [];
        }
        var chosen = RendezvousAssignment.Choose(deployment.Model, pool, replica => replica.Id, deployment.Spec.Replicas);
        return ReferenceEquals(chosen, pool) ? pool : [.. chosen.OrderBy(replica => replica.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The versions the deployment's replicas must hold: desired stable, serving stable while it differs, canary,
    /// shadow, and the previous stable during its retention period (so a rollback to it needs no load).
    /// </summary>
    public static IReadOnlyList<long> HeldVersions(DeploymentRecord deployment)
    {
        var versions = new List<long> { deployment.Spec.Stable };
        if (deployment.ServingStable is { } serving && serving != deployment.Spec.Stable)
        {
            versions.Add(serving);
        }
        if (deployment.RetainedStable is { } retained && !versions.Contains(retained))
        {
            versions.Add(retained);
        }
        foreach (var version in deployment.Spec.NamedVersions())
        {
            if (!versions.Contains(version))
            {
                versions.Add(version);
            }
        }
        return versions;
    }

    /// <summary>Every version a replica must hold, with its artifact and config (overrides applied).</summary>
    public IReadOnlyList<DesiredModelVersion> DesiredFor(string replicaId)
    {
        var desired = new List<DesiredModelVersion>();
        foreach (var deployment in _snapshot.Deployments)
        {
            if (!AssignedReplicas(deployment).Any(replica => replica.Id == replicaId))
            {
                continue;
            }
            foreach (var version in HeldVersions(deployment))
            {
                // A version row cannot vanish (versions are immutable and referenced), but a snapshot read between
                // two writes must not make a replica unload what it serves: a missing artifact is skipped this round.
                if (_snapshot.Artifacts.TryGetValue((deployment.Model, version), out var artifact))
                {
                    desired.Add(new DesiredModelVersion(
                        deployment.Model, version, artifact.Digest, artifact.SizeBytes,
                        VersionConfigOverrides.Apply(deployment.Model, artifact.Config, deployment.Spec)));
                }
            }
        }
        return desired;
    }

    public ReplicaVersionState? StateOf(string replicaId, string model, long version) =>
        _states.GetValueOrDefault((replicaId, model, version));

    /// <summary>The ids of the deployment's replicas on which <paramref name="version"/> is ready.</summary>
    public IReadOnlyList<string> ReadyOn(DeploymentRecord deployment, long version) =>
        [.. AssignedReplicas(deployment)
            .Where(replica => StateOf(replica.Id, deployment.Model, version)?.State == ReplicaModelPhase.Ready)
            .Select(replica => replica.Id)];

    /// <summary>Whether <paramref name="version"/> is ready on every replica holding the deployment (and there is at least one).</summary>
    public bool ReadyEverywhere(DeploymentRecord deployment, long version)
    {
        var assigned = AssignedReplicas(deployment);
        return assigned.Count > 0
            && assigned.All(replica => StateOf(replica.Id, deployment.Model, version)?.State == ReplicaModelPhase.Ready);
    }

    /// <summary>The serving stable after this snapshot: the desired stable once it is ready everywhere, else unchanged.</summary>
    public long? NextServingStable(DeploymentRecord deployment) =>
        deployment.ServingStable != deployment.Spec.Stable && ReadyEverywhere(deployment, deployment.Spec.Stable)
            ? deployment.Spec.Stable
            : deployment.ServingStable;

    /// <summary>The deployment's status flag: the desired stable serves, on every replica holding it.</summary>
    public bool IsReady(DeploymentRecord deployment) =>
        deployment.ServingStable == deployment.Spec.Stable && ReadyEverywhere(deployment, deployment.Spec.Stable);

    /// <summary>The traffic policy in effect: the serving stable, and each arm only once it is ready somewhere.</summary>
    public ModelRoute Route(DeploymentRecord deployment)
    {
        var spec = deployment.Spec;
        TrafficArm? canary = spec.Canary is { } c && ReadyOn(deployment, c.Version).Count > 0
            ? new TrafficArm(c.Version, c.InitialPercent)
            : null;
        TrafficArm? shadow = spec.Shadow is { } s && ReadyOn(deployment, s.Version).Count > 0
            ? new TrafficArm(s.Version, s.Percent)
            : null;
        var cache = spec.Cache is { Enabled: true } enabled ? new CachePolicy(true, enabled.TtlSeconds) : new CachePolicy(false, 0);
        return new ModelRoute(
            Model: deployment.Model,
            Revision: deployment.Revision,
            Stable: deployment.ServingStable,
            Canary: canary,
            Shadow: shadow,
            Cache: cache,
            Versions: [.. HeldVersions(deployment).Select(version => new VersionReplicas(version, ReadyOn(deployment, version)))],
            CapturePercent: spec.Monitoring?.SamplePercent ?? 0);
    }

    public RoutingTable RoutingTable() => new(
        [.. _snapshot.Replicas.OrderBy(replica => replica.Id, StringComparer.Ordinal)
            .Select(replica => new ReplicaEndpoint(replica.Id, replica.Pool, replica.HttpUrl, replica.GrpcUrl))],
        [.. _snapshot.Deployments.OrderBy(deployment => deployment.Model, StringComparer.Ordinal).Select(Route)]);
}
