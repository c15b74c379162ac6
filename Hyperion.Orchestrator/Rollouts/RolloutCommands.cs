using System.Globalization;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// What a caller can tell a deployment's rollout: promote, roll back, pause, resume. Each runs in one transaction
/// that waits for the rollout's row (the controller may be deciding on it) and then the deployment's lock, the same
/// order the controller takes them in, and records the change like the controller's decisions, with the caller as actor.
/// </summary>
internal sealed class RolloutCommands(NpgsqlDataSource dataSource, RolloutRecorder recorder)
{
    public Task<CommandResult> PromoteAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, (deployment, rollout, now) =>
        {
            if (Active(deployment, rollout, now) is { } active)
            {
                var skipped = active.Plan.Steps.Count - 1 - active.Step;
                var reason = Invariant(
                    $"promoted by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}), skipping {skipped} remaining step{(skipped == 1 ? "" : "s")}: version {active.CanaryVersion} becomes stable");
                return new RolloutChange(RolloutChange.Promoted, NotificationEventTypes.RolloutPromoted, actor, reason,
                    RolloutController.PromotedSpec(deployment.Spec),
                    RolloutController.Ended(active, RolloutState.Promoted, RolloutChange.Promoted, now, reason));
            }
            if (deployment.Spec.Canary is { } canary)
            {
                var reason = Invariant(
                    $"promoted by {actor}: canary version {canary.Version} (at a fixed {RolloutAnalysis.Percent(canary.InitialPercent)}) replaces stable version {deployment.Spec.Stable}");
                return new RolloutChange(RolloutChange.DeploymentPromoted, NotificationEventTypes.DeploymentUpdated, actor, reason,
                    RolloutController.PromotedSpec(deployment.Spec), null);
            }
            return Invariant(
                $"Deployment '{model}' has no canary to promote (stable is version {deployment.Spec.Stable}). Start one with PUT /api/v1/deployments/{model} and a body such as {{\"stable\": {deployment.Spec.Stable}, \"canary\": {{\"version\": {deployment.Spec.Stable + 1}, \"steps\": [10, 50, 100]}}}}.");
        });

    public Task<CommandResult> RollbackAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, async (connection, transaction, deployment, rollout, now) =>
        {
            if (Active(deployment, rollout, now) is { } active)
            {
                var reason = Invariant(
                    $"rolled back by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}): version {active.CanaryVersion} takes no more traffic, stable stays version {deployment.Spec.Stable}");
                return new RolloutChange(RolloutChange.RolledBack, NotificationEventTypes.RolloutRolledBack, actor, reason,
                    deployment.Spec with { Canary = null },
                    RolloutController.Ended(active, RolloutState.RolledBack, RolloutChange.RolledBack, now, reason));
            }
            if (await DeploymentRevisions.PreviousStableAsync(connection, transaction, deployment, cancellationToken) is not { } previous)
            {
                return Invariant(
                    $"Deployment '{model}' has nothing to roll back to: no rollout is in progress, and every revision up to {deployment.Revision} has stable version {deployment.Spec.Stable}.");
            }
            var stable = previous.Stable;
            var why = Invariant(
                $"rolled back by {actor}: stable goes from version {deployment.Spec.Stable} back to version {stable}, the stable of revision {previous.Revision}");
            var spec = deployment.Spec with
            {
                Stable = stable,
                Canary = deployment.Spec.Canary?.Version == stable ? null : deployment.Spec.Canary,
                Shadow = deployment.Spec.Shadow?.Version == stable ? null : deployment.Spec.Shadow,
            };
            // A rollback right after a promotion undoes it: the rollout's record says so.
            var undone = rollout is { State: RolloutState.Promoted } promoted && promoted.Revision == deployment.Revision
                ? RolloutController.Ended(promoted, RolloutState.RolledBack, RolloutChange.DeploymentRolledBack, now, why)
                : null;
            return new RolloutChange(RolloutChange.DeploymentRolledBack, NotificationEventTypes.DeploymentRolledBack, actor, why, spec, undone);
        });

    public Task<CommandResult> PauseAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, (deployment, rollout, now) =>
        {
            if (Active(deployment, rollout, now) is not { } active)
            {
                return NothingInProgress(model, rollout, "pause");
            }
            if (active.State == RolloutState.Paused)
            {
                return Invariant($"The rollout of version {active.CanaryVersion} of '{model}' is already paused at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}); resume it with POST /api/v1/deployments/{model}/resume.");
            }
            var reason = Invariant(
                $"paused by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}): the canary keeps its share and is still rolled back if a gate fails, but does not move on until resumed");
            return new RolloutChange(RolloutChange.Paused, NotificationEventTypes.RolloutPaused, actor, reason, null,
                active with { State = RolloutState.Paused, LastAction = RolloutChange.Paused, LastDecisionAt = now, Reason = reason });
        });

    public Task<CommandResult> ResumeAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, (deployment, rollout, now) =>
        {
            if (Active(deployment, rollout, now) is not { State: RolloutState.Paused } paused)
            {
                return rollout is { State: RolloutState.Progressing } && rollout.Revision == deployment.Revision
                    ? Invariant($"The rollout of version {rollout.CanaryVersion} of '{model}' is not paused (it is progressing at step {rollout.Step}, {RolloutAnalysis.Percent(rollout.Percent)}).")
                    : NothingInProgress(model, rollout, "resume");
            }
            var reason = Invariant(
                $"resumed by {actor} at step {paused.Step} ({RolloutAnalysis.Percent(paused.Percent)}): the step's window starts again");
            // A null window makes the controller take fresh baselines on its next tick.
            return new RolloutChange(RolloutChange.Resumed, NotificationEventTypes.RolloutResumed, actor, reason, null,
                paused with { State = RolloutState.Progressing, StepStartedAt = null, Baseline = null, LastAction = RolloutChange.Resumed, LastDecisionAt = now, Reason = reason });
        });

    private Task<CommandResult> RunAsync(string model, CancellationToken cancellationToken, Func<DeploymentRecord, RolloutRecord?, DateTimeOffset, Either> decide) =>
        RunAsync(model, cancellationToken, (_, _, deployment, rollout, now) => Task.FromResult(decide(deployment, rollout, now)));

    private async Task<CommandResult> RunAsync(
        string model, CancellationToken cancellationToken, Func<NpgsqlConnection, NpgsqlTransaction, DeploymentRecord, RolloutRecord?, DateTimeOffset, Task<Either>> decide)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (_, rollout, now) = await RolloutStore.LockAsync(connection, transaction, model, skipLocked: false, cancellationToken);
        await DeploymentRevisions.LockAsync(connection, transaction, model, cancellationToken);
        if (await DeploymentRevisions.CurrentAsync(connection, transaction, model, cancellationToken) is not { } deployment)
        {
            return CommandResult.NoDeployment;
        }
        var outcome = await decide(connection, transaction, deployment, rollout, now);
        if (outcome.Conflict is { } conflict)
        {
            return new CommandResult(CommandStatus.Conflict, conflict, null, 0);
        }
        var change = outcome.Change!;
        var revision = await recorder.RecordAsync(connection, transaction, deployment, change, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await recorder.PublishAsync(model, change, revision, cancellationToken);
        return new CommandResult(CommandStatus.Done, null, change, revision);
    }

    /// <summary>
    /// The rollout in progress on the current revision. A plan the controller has not picked up yet (PUT a moment
    /// ago) counts too: it is started here, so that promote or rollback right after a PUT does what it says.
    /// </summary>
    private static RolloutRecord? Active(DeploymentRecord deployment, RolloutRecord? rollout, DateTimeOffset now)
    {
        if (rollout is { IsActive: true } && rollout.Revision == deployment.Revision)
        {
            return rollout;
        }
        if ((rollout is null || rollout.Revision != deployment.Revision) && CanaryPlan.Of(deployment.Spec.Canary) is { } plan)
        {
            return RolloutController.Start(deployment, plan, now, Invariant($"revision {deployment.Revision} rolls out version {plan.Version}"));
        }
        return null;
    }

    private static string NothingInProgress(string model, RolloutRecord? rollout, string verb) =>
        rollout is null
            ? Invariant($"Deployment '{model}' has no rollout to {verb}; start one with a canary plan, e.g. PUT /api/v1/deployments/{model} with {{\"stable\": 1, \"canary\": {{\"version\": 2, \"steps\": [10, 50, 100]}}}}.")
            : Invariant($"Deployment '{model}' has no rollout in progress to {verb}: the last one, of version {rollout.CanaryVersion}, was {RolloutStore.StateName(rollout.State).Replace('_', ' ')} ({rollout.Reason}).");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A change to record, or the reason there is none (409).</summary>
    private readonly record struct Either(RolloutChange? Change, string? Conflict)
    {
        public static implicit operator Either(RolloutChange change) => new(change, null);

        public static implicit operator Either(string conflict) => new(null, conflict);
    }
}

internal enum CommandStatus
{
    Done,
    NoDeployment,
    Conflict,
}

internal sealed record CommandResult(CommandStatus Status, string? Conflict, RolloutChange? Change, long Revision)
{
    public static CommandResult NoDeployment { get; } = new(CommandStatus.NoDeployment, null, null, 0);
}
