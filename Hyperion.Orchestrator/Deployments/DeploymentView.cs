using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// <c>GET /api/v1/deployments/{m}</c>: the spec of the current revision, what actually takes traffic
/// (<see cref="Serving"/>), whether the stable version serves on every replica (<see cref="Ready"/>), and per
/// version the state on each replica holding the deployment.
/// </summary>
/// <param name="Changed">Only on a PUT: false when the spec equals the current one (no new revision was made).</param>
internal sealed record DeploymentView(
    string Model,
    long Revision,
    long Stable,
    CanaryView? Canary,
    ShadowSpec? Shadow,
    CacheSpec? Cache,
    BatchingSpec? Batching,
    int? MaxBatchSize,
    InstancesSpec? Instances,
    string Pool,
    int? Replicas,
    ServingView Serving,
    bool Ready,
    IReadOnlyList<VersionStatusView> Versions,
    DateTimeOffset UpdatedAt,
    bool? Changed = null)
{
    /// <summary>The stable that served before the last switch while it stays loaded for an instant rollback.</summary>
    public PreviousStableView? PreviousStable { get; init; }

    /// <summary>The current or last rollout (<see cref="Rollouts.RolloutStatusReader"/>); null when the deployment never had a plan.</summary>
    public Rollouts.RolloutView? Rollout { get; init; }

    /// <summary>Model monitoring as stored (defaults filled in); null when the deployment has none.</summary>
    public MonitoringSpec? Monitoring { get; init; }

    /// <summary>How the shadow's answers compare with stable's, when there is a shadow.</summary>
    public Rollouts.ShadowAnalysisView? ShadowAnalysis { get; init; }

    public static DeploymentView From(DeploymentRecord deployment, ConvergencePlan plan)
    {
        var spec = deployment.Spec;
        var route = plan.Route(deployment);
        var assigned = plan.AssignedReplicas(deployment);
        var held = ConvergencePlan.HeldVersions(deployment);
        var versions = held.ToList();
        // Versions the replicas still report (e.g. a previous stable while it unloads) are shown too.
        foreach (var state in plan.Snapshot.States)
        {
            if (state.Model == deployment.Model && !versions.Contains(state.Version))
            {
                versions.Add(state.Version);
            }
        }
        versions.Sort((a, b) => b.CompareTo(a));

        var statuses = versions.Select(version =>
        {
            var states = new List<ReplicaStateView>();
            // A version the deployment no longer names is listed only where a replica still reports it.
            foreach (var replica in held.Contains(version) ? assigned : [])
            {
                var state = plan.StateOf(replica.Id, deployment.Model, version);
                states.Add(state is null
                    ? new ReplicaStateView(replica.Id, "pending", "not reported by the replica yet")
                    : new ReplicaStateView(replica.Id, StoredNames<ReplicaModelPhase>.Name(state.State), state.Reason));
            }
            // A replica that still reports a version it should no longer hold (it is unloading it).
            foreach (var state in plan.Snapshot.States)
            {
                if (state.Model == deployment.Model && state.Version == version && !states.Any(shown => shown.Replica == state.Replica))
                {
                    states.Add(new ReplicaStateView(state.Replica, StoredNames<ReplicaModelPhase>.Name(state.State), state.Reason));
                }
            }
            return new VersionStatusView(version, plan.ReadyOn(deployment, version).Count, assigned.Count, states);
        }).ToList();

        return new DeploymentView(
            Model: deployment.Model,
            Revision: deployment.Revision,
            Stable: spec.Stable,
            Canary: spec.Canary is { } canary
                ? new CanaryView(
                    Version: canary.Version,
                    Percent: canary.InitialPercent,
                    Steps: canary.Steps,
                    StepSeconds: canary.StepSeconds,
                    MinRequests: canary.MinRequests,
                    MaxErrorRateDelta: canary.MaxErrorRateDelta,
                    MaxP95LatencyRatio: canary.MaxP95LatencyRatio,
                    MaxAccuracyDrop: canary.MaxAccuracyDrop,
                    MinAgreement: canary.MinAgreement,
                    MinQualitySamples: canary.MinQualitySamples)
                : null,
            Shadow: spec.Shadow,
            Cache: spec.Cache,
            Batching: spec.Batching,
            MaxBatchSize: spec.MaxBatchSize,
            Instances: spec.Instances,
            Pool: spec.Pool,
            Replicas: spec.Replicas,
            Serving: new ServingView(route.Stable, route.Canary?.Version, route.Shadow?.Version),
            Ready: plan.IsReady(deployment),
            Versions: statuses,
            UpdatedAt: deployment.UpdatedAt)
        {
            PreviousStable = deployment is { RetainedStable: { } retained, RetainedUntil: { } until } ? new PreviousStableView(retained, until) : null,
            Monitoring = spec.Monitoring,
        };
    }
}

/// <param name="Percent">The share the canary takes once ready: the fixed percent, or the plan's first step.</param>
internal sealed record CanaryView(
    long Version,
    double Percent,
    IReadOnlyList<double>? Steps,
    int? StepSeconds,
    long? MinRequests,
    double? MaxErrorRateDelta,
    double? MaxP95LatencyRatio,
    double? MaxAccuracyDrop,
    double? MinAgreement,
    long? MinQualitySamples);

/// <param name="LoadedUntil">When the replicas may unload it (a rollback before then switches back at once).</param>
internal sealed record PreviousStableView(long Version, DateTimeOffset LoadedUntil);

/// <summary>The versions actually taking traffic: stable once ready everywhere, canary and shadow once ready on a replica.</summary>
internal sealed record ServingView(long? Stable, long? Canary, long? Shadow);

/// <param name="Replicas">How many live replicas hold the deployment.</param>
internal sealed record VersionStatusView(long Version, int ReadyReplicas, int Replicas, IReadOnlyList<ReplicaStateView> States);

/// <param name="State">loading, ready, failed, unloading, or pending (the replica has not reported it yet).</param>
internal sealed record ReplicaStateView(string Replica, string State, string? Reason);

/// <summary><c>GET /api/v1/deployments/{m}/revisions</c>: newest first; <c>current</c> marks the one in effect.</summary>
internal sealed record RevisionsView(string Model, IReadOnlyList<RevisionView> Revisions);

internal sealed record DeploymentList(IReadOnlyList<DeploymentView> Deployments);

