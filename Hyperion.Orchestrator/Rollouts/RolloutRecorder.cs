using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// Records a <see cref="RolloutChange"/> inside the caller's transaction (which holds the rollout row and the
/// deployment's lock): the new revision, the rollout row, the audit entry with the evidence and the webhook event
/// commit together or not at all. After the commit, <see cref="PublishAsync"/> tells replicas and gateways.
/// </summary>
internal sealed partial class RolloutRecorder(
    WebhookOutbox outbox,
    ConvergenceEvaluator evaluator,
    ControlPlaneNotifier notifier,
    RolloutMetrics metrics,
    ILogger<RolloutRecorder> logger)
{
    /// <returns>The deployment's revision after the change (a new one when the change set a spec).</returns>
    public async Task<long> RecordAsync(Db db, DeploymentRecord current, RolloutChange change, CancellationToken cancellationToken)
    {
        var revision = change.Spec is { } spec
            ? await DeploymentStore.AppendRevisionAsync(db, current.Model, spec, change.Actor, cancellationToken)
            : current.Revision;
        var rollout = change.Rollout;
        if (rollout is not null)
        {
            rollout = rollout with { Revision = revision };
            await RolloutStore.SaveAsync(db, rollout, cancellationToken);
        }
        var details = new RolloutChangeDetails(
            Model: current.Model,
            Revision: revision,
            PreviousRevision: change.Spec is null ? null : current.Revision,
            Reason: change.Reason,
            Before: TrafficView.Of(current.Spec),
            After: TrafficView.Of(change.Spec ?? current.Spec),
            Rollout: rollout is null ? null : RolloutPosition.Of(rollout),
            Evidence: change.Evidence);
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: change.Actor,
            Action: change.Action,
            Model: current.Model,
            Target: $"revision {revision}",
            Before: details.Before,
            After: details.After,
            Details: details), cancellationToken);
        await outbox.EnqueueAsync(db, new NotificationEvent(change.Event, current.Model, change.Actor, details), cancellationToken);
        return revision;
    }

    /// <summary>After the commit: counts the decision, logs it, and when traffic changed tells replicas and gateways at once.</summary>
    public async Task PublishAsync(string model, RolloutChange change, long revision, CancellationToken cancellationToken)
    {
        var action = change.Action.Name();
        metrics.Decision(action);
        LogDecision(logger, model, action, revision, change.Actor, change.Reason);
        if (change.Spec is not null)
        {
            await notifier.PublishAsync(ControlPlaneChannels.DesiredChanged, model);
            // Moves the serving stable at once when the new stable is already ready everywhere (a promoted canary,
            // a rollback to the retained previous stable) and publishes the routing notice.
            await evaluator.EvaluateAsync([model], cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Model}: {Action} (revision {Revision}, by {Actor}): {Reason}")]
    private static partial void LogDecision(ILogger logger, string model, string action, long revision, string actor, string reason);
}
