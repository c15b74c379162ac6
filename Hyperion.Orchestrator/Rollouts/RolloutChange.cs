using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// One decision about a deployment's traffic, by the controller or a caller: recorded by <see cref="RolloutRecorder"/>
/// as a new revision (when <see cref="Spec"/> changes traffic), the rollout row, an audit entry and a webhook event,
/// all in one transaction.
/// </summary>
/// <param name="Action">The audit action, e.g. <see cref="AuditAction.RolloutStep"/>.</param>
/// <param name="Event">The webhook event type (<see cref="Notifications.NotificationEventTypes"/>).</param>
/// <param name="Spec">The deployment's next revision; null when traffic does not change (pause, resume, start).</param>
/// <param name="Rollout">The rollout row after the decision; null when no rollout is involved.</param>
/// <param name="Evidence">The numbers behind the decision, when there are any.</param>
internal sealed record RolloutChange(
    AuditAction Action,
    string Event,
    string Actor,
    string Reason,
    DeploymentSpec? Spec,
    RolloutRecord? Rollout,
    RolloutEvidence? Evidence = null)
{
    /// <summary>
    /// The rollout ends rolled back: its canary leaves the deployment, so stable takes all traffic again; the audit
    /// action and the webhook event say so alike, whoever decided it (a gate, a failed load, a caller).
    /// </summary>
    public static RolloutChange RolledBack(string actor, string reason, DeploymentSpec spec, RolloutRecord rollout, RolloutEvidence? evidence = null) =>
        new(
            Action: AuditAction.RolloutRolledBack,
            Event: Notifications.NotificationEventTypes.RolloutRolledBack,
            Actor: actor,
            Reason: reason,
            Spec: spec with { Canary = null },
            Rollout: rollout,
            Evidence: evidence);
}

/// <summary>The traffic a revision sets, for the audit entry's before and after.</summary>
internal sealed record TrafficView(long Stable, long? Canary, double? CanaryPercent, long? Shadow)
{
    public static TrafficView Of(DeploymentSpec spec) =>
        new(spec.Stable, spec.Canary?.Version, spec.Canary?.InitialPercent, spec.Shadow?.Version);
}

/// <summary>A rollout's position, as audit entries and webhooks carry it.</summary>
internal sealed record RolloutPosition(RolloutState State, int Step, double Percent, long StableVersion, long CanaryVersion, IReadOnlyList<double> Steps)
{
    public static RolloutPosition Of(RolloutRecord rollout) =>
        new(
            State: rollout.State,
            Step: rollout.Step,
            Percent: rollout.Percent,
            StableVersion: rollout.StableVersion,
            CanaryVersion: rollout.CanaryVersion,
            Steps: rollout.Plan.Steps);
}

/// <summary>The audit entry's details and the webhook event's data.</summary>
internal sealed record RolloutChangeDetails(
    string Model,
    long Revision,
    long? PreviousRevision,
    string Reason,
    TrafficView Before,
    TrafficView After,
    RolloutPosition? Rollout,
    RolloutEvidence? Evidence);
