using System.Globalization;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Lifecycle;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// What a caller can tell a deployment's rollout: promote, roll back, pause, resume. Each runs in one transaction
/// that waits for the rollout's row (the controller may be deciding on it) and then the deployment's lock, the same
/// order the controller takes them in, and records the change like the controller's decisions: with the caller as
/// actor, and the arms' numbers in the step so far as evidence.
/// </summary>
internal sealed class RolloutCommands(
    NpgsqlDataSource dataSource,
    RolloutRecorder recorder,
    ArmStatisticsReader statistics,
    QualityGateReader qualityGates,
    IOptions<RolloutOptions> options)
{
    public Task<CommandResult> PromoteAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, async context =>
        {
            var deployment = context.Deployment;
            // Under the model's approval policy only a production version becomes stable: a staging canary is tried, not promoted.
            if (deployment.Spec.Canary is { } promoted
                && await ApprovalPolicy.StableRefusalAsync(context.Db, model, promoted.Version, "the canary to promote", cancellationToken) is { } refusal)
            {
                return refusal;
            }
            if (context.Active is { } active)
            {
                var skipped = active.Plan.Steps.Count - 1 - active.Step;
                var reason = Invariant(
                    $"promoted by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}), skipping {skipped} remaining step{(skipped == 1 ? "" : "s")}: version {active.CanaryVersion} becomes stable");
                return new RolloutChange(
                    Action: AuditAction.RolloutPromoted,
                    Event: NotificationEventTypes.RolloutPromoted,
                    Actor: actor,
                    Reason: reason,
                    Spec: RolloutController.PromotedSpec(deployment.Spec),
                    Rollout: context.Ended(active, RolloutState.Promoted, AuditAction.RolloutPromoted, reason),
                    Evidence: context.Evidence);
            }
            if (deployment.Spec.Canary is { } canary)
            {
                var reason = Invariant(
                    $"promoted by {actor}: canary version {canary.Version} (at a fixed {RolloutAnalysis.Percent(canary.InitialPercent)}) replaces stable version {deployment.Spec.Stable}");
                return new RolloutChange(
                    Action: AuditAction.DeploymentPromoted,
                    Event: NotificationEventTypes.DeploymentUpdated,
                    Actor: actor,
                    Reason: reason,
                    Spec: RolloutController.PromotedSpec(deployment.Spec),
                    Rollout: null);
            }
            return Invariant(
                $"Deployment '{model}' has no canary to promote (stable is version {deployment.Spec.Stable}). Start a rollout with PUT /api/v1/deployments/{model} and a body such as {{\"stable\": {deployment.Spec.Stable}, \"canary\": {{\"version\": <the new version>}}}}.");
        });

    public Task<CommandResult> RollbackAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, async context =>
        {
            var deployment = context.Deployment;
            if (context.Active is { } active)
            {
                var reason = Invariant(
                    $"rolled back by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}): version {active.CanaryVersion} takes no more traffic, stable stays version {deployment.Spec.Stable}");
                return RolloutChange.RolledBack(
                    actor,
                    reason,
                    deployment.Spec,
                    context.Ended(active, RolloutState.RolledBack, AuditAction.RolloutRolledBack, reason),
                    context.Evidence);
            }
            if (await DeploymentStore.PreviousStableAsync(context.Db, deployment, cancellationToken) is not { } previous)
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
            var undone = context.Row is { State: RolloutState.Promoted } promoted && promoted.Revision == deployment.Revision
                ? RolloutController.Ended(promoted, RolloutState.RolledBack, AuditAction.DeploymentRolledBack, context.Now, why) with { Evidence = null }
                : null;
            return new RolloutChange(
                Action: AuditAction.DeploymentRolledBack,
                Event: NotificationEventTypes.DeploymentRolledBack,
                Actor: actor,
                Reason: why,
                Spec: spec,
                Rollout: undone);
        });

    public Task<CommandResult> PauseAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, context =>
        {
            if (context.Active is not { } active)
            {
                return NothingInProgress(model, context.Row, "pause");
            }
            if (active.State == RolloutState.Paused)
            {
                return Invariant($"The rollout of version {active.CanaryVersion} of '{model}' is already paused at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}); resume it with POST /api/v1/deployments/{model}/resume.");
            }
            var reason = Invariant(
                $"paused by {actor} at step {active.Step} ({RolloutAnalysis.Percent(active.Percent)}): the canary keeps its share and is still rolled back if a gate fails, but does not move on until resumed");
            return new RolloutChange(
                Action: AuditAction.RolloutPaused,
                Event: NotificationEventTypes.RolloutPaused,
                Actor: actor,
                Reason: reason,
                Spec: null,
                Rollout: context.Decided(active, RolloutState.Paused, AuditAction.RolloutPaused, reason),
                Evidence: context.Evidence);
        });

    public Task<CommandResult> ResumeAsync(string model, string actor, CancellationToken cancellationToken) =>
        RunAsync(model, cancellationToken, context =>
        {
            if (context.Active is not { State: RolloutState.Paused } paused)
            {
                return context.Row is { State: RolloutState.Progressing } row && row.Revision == context.Deployment.Revision
                    ? Invariant($"The rollout of version {row.CanaryVersion} of '{model}' is not paused (it is progressing at step {row.Step}, {RolloutAnalysis.Percent(row.Percent)}).")
                    : NothingInProgress(model, context.Row, "resume");
            }
            var reason = Invariant(
                $"resumed by {actor} at step {paused.Step} ({RolloutAnalysis.Percent(paused.Percent)}): the step's window starts again");
            // A null window makes the controller take fresh baselines on its next tick.
            return new RolloutChange(
                Action: AuditAction.RolloutResumed,
                Event: NotificationEventTypes.RolloutResumed,
                Actor: actor,
                Reason: reason,
                Spec: null,
                Rollout: context.Decided(paused, RolloutState.Progressing, AuditAction.RolloutResumed, reason) with { StepStartedAt = null, Baseline = null },
                Evidence: context.Evidence);
        });

    private Task<CommandResult> RunAsync(string model, CancellationToken cancellationToken, Func<CommandContext, Outcome> decide) =>
        RunAsync(model, cancellationToken, context => Task.FromResult(decide(context)));

    private async Task<CommandResult> RunAsync(string model, CancellationToken cancellationToken, Func<CommandContext, Task<Outcome>> decide)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var (_, row, now) = await RolloutStore.LockAsync(db, model, skipLocked: false, cancellationToken);
        await DeploymentStore.LockAsync(db, model, cancellationToken);
        if (await DeploymentStore.CurrentAsync(db, model, cancellationToken) is not { } deployment)
        {
            return CommandResult.NoDeployment;
        }
        var active = Active(deployment, row, now);
        var evidence = active is null ? null : await EvidenceAsync(deployment, active, now);
        var outcome = await decide(new CommandContext(Db: db, Deployment: deployment, Row: row, Active: active, Evidence: evidence, Now: now));
        if (outcome.Conflict is { } conflict)
        {
            return new CommandResult(CommandStatus.Conflict, conflict);
        }
        var change = outcome.Change!;
        var revision = await recorder.RecordAsync(db, deployment, change, cancellationToken);
        await db.CommitAsync(cancellationToken);
        await recorder.PublishAsync(model, change, revision, cancellationToken);
        return new CommandResult(CommandStatus.Done, null);
    }

    /// <summary>
    /// The rollout in progress on the current revision. A plan the controller has not picked up yet (PUT a moment
    /// ago) counts too: it is started here, so that promote or rollback right after a PUT does what it says.
    /// </summary>
    private static RolloutRecord? Active(DeploymentRecord deployment, RolloutRecord? row, DateTimeOffset now)
    {
        if (row is { IsActive: true } && row.Revision == deployment.Revision)
        {
            return row;
        }
        if ((row is null || row.Revision != deployment.Revision) && CanaryPlan.Of(deployment.Spec.Canary) is { } plan)
        {
            return RolloutController.Start(deployment, plan, now, Invariant($"revision {deployment.Revision} rolls out version {plan.Version}"));
        }
        return null;
    }

    /// <summary>The arms' numbers in the current step, what a person decided on; null before the step's window or without Redis.</summary>
    private async Task<RolloutEvidence?> EvidenceAsync(DeploymentRecord deployment, RolloutRecord rollout, DateTimeOffset now)
    {
        if (rollout.StepStartedAt is not { } started || rollout.Baseline is not { } baseline
            || deployment.ServingStable is not { } serving || baseline.Stable.Version != serving)
        {
            return null;
        }
        try
        {
            var stable = await statistics.ReadAsync(deployment.Model, serving, ArmStatisticsKeys.Stable);
            var canary = await statistics.ReadAsync(deployment.Model, rollout.CanaryVersion, ArmStatisticsKeys.Canary);
            return RolloutAnalysis.Decide(new StepMeasurement(
                Plan: rollout.Plan,
                Step: rollout.Step,
                Percent: rollout.Percent,
                ElapsedSeconds: (now - started).TotalSeconds,
                Canary: canary.Since(baseline.Canary),
                Stable: stable.Since(baseline.Stable),
                StableSinceStart: rollout.StableAtStart is { } start && start.Version == serving ? stable.Since(start) : null,
                LatencyFloorMs: options.Value.LatencyGateFloorMs,
                Quality: await qualityGates.ReadAsync(deployment.Spec, rollout, serving, CancellationToken.None))).Evidence;
        }
        catch (StatisticsUnavailableException)
        {
            // A person's decision does not wait for Redis; it is recorded without numbers.
            return null;
        }
    }

    private static string NothingInProgress(string model, RolloutRecord? rollout, string verb) =>
        rollout is null
            ? Invariant($"Deployment '{model}' has no rollout to {verb}; start one with a canary plan, e.g. PUT /api/v1/deployments/{model} with {{\"stable\": 1, \"canary\": {{\"version\": 2, \"steps\": [10, 50, 100]}}}}.")
            : Invariant($"Deployment '{model}' has no rollout in progress to {verb}: the last one, of version {rollout.CanaryVersion}, was {StoredNames<RolloutState>.Name(rollout.State).Replace('_', ' ')} ({rollout.Reason}).");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <param name="Row">The rollout row as locked (null: the model never had one).</param>
    /// <param name="Active">The rollout in progress on the current revision (see <see cref="Active(DeploymentRecord, RolloutRecord?, DateTimeOffset)"/>).</param>
    /// <param name="Evidence">The arms' numbers in the active rollout's current step.</param>
    private sealed record CommandContext(
        Db Db,
        DeploymentRecord Deployment,
        RolloutRecord? Row,
        RolloutRecord? Active,
        RolloutEvidence? Evidence,
        DateTimeOffset Now)
    {
        public RolloutRecord Ended(RolloutRecord rollout, RolloutState state, AuditAction action, string reason) =>
            RolloutController.Ended(rollout, state, action, Now, reason) with { Evidence = EvidenceNode };

        public RolloutRecord Decided(RolloutRecord rollout, RolloutState state, AuditAction action, string reason) =>
            rollout with { State = state, LastAction = action, LastDecisionAt = Now, Reason = reason, Evidence = EvidenceNode };

        private System.Text.Json.Nodes.JsonNode? EvidenceNode => Evidence is null ? null : JsonSerializer.SerializeToNode(Evidence, ControlPlaneJson.Options);
    }

    /// <summary>A change to record, or the reason there is none (409).</summary>
    private readonly record struct Outcome(RolloutChange? Change, string? Conflict)
    {
        public static implicit operator Outcome(RolloutChange change) => new(change, null);

        public static implicit operator Outcome(string conflict) => new(null, conflict);
    }
}

internal enum CommandStatus
{
    Done,
    NoDeployment,
    Conflict,
}

/// <param name="Conflict">Why there was nothing to do (<see cref="CommandStatus.Conflict"/>).</param>
internal sealed record CommandResult(CommandStatus Status, string? Conflict)
{
    public static CommandResult NoDeployment { get; } = new(CommandStatus.NoDeployment, null);
}
