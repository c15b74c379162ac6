using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// The rollout controller: every <see cref="RolloutOptions.TickSeconds"/> it looks at each deployment with a canary
/// plan (and each rollout still in progress) and moves it on by the gateways' per-arm numbers
/// (<see cref="RolloutAnalysis"/>): next step, promotion, or rollback. Each rollout is handled in a transaction that
/// holds its row (<c>FOR UPDATE SKIP LOCKED</c>: a row another orchestrator holds is left to it this tick) and the
/// deployment's lock, and re-reads everything it decides on inside it, so no decision is ever made twice.
/// </summary>
internal sealed partial class RolloutController(
    NpgsqlDataSource dataSource,
    SnapshotReader snapshots,
    ArmStatisticsReader statistics,
    QualityGateReader qualityGates,
    RolloutRecorder recorder,
    RolloutMetrics metrics,
    IOptions<RolloutOptions> options,
    ILogger<RolloutController> logger) : BackgroundService
{
    private static readonly string Actor = ActorClaims.System("rollout");

    private bool _statisticsDown;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.TickSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await TickAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One look at every rollout (tests call it directly).</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        ConvergencePlan convergence;
        IReadOnlyList<string> active;
        try
        {
            convergence = new ConvergencePlan(await snapshots.ReadAsync(model: null, cancellationToken));
            active = await RolloutStore.ActiveModelsAsync(dataSource, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogTickFailed(logger, ex, "(all)");
            return;
        }
        var models = new SortedSet<string>(active, StringComparer.Ordinal);
        foreach (var deployment in convergence.Snapshot.Deployments)
        {
            if (CanaryPlan.IsPlan(deployment.Spec.Canary))
            {
                models.Add(deployment.Model);
            }
        }
        foreach (var model in models)
        {
            try
            {
                await StepAsync(model, convergence, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // One rollout's trouble (a database hiccup, a row that does not parse) must neither stop the others
                // nor the controller: it is retried on the next tick.
                LogTickFailed(logger, ex, model);
            }
        }
    }

    private async Task StepAsync(string model, ConvergencePlan convergence, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var (rowLock, rollout, now) = await RolloutStore.LockAsync(db, model, skipLocked: true, cancellationToken);
        if (rowLock == RowLock.Busy)
        {
            metrics.Skipped();
            return;
        }
        await DeploymentStore.LockAsync(db, model, cancellationToken);
        if (rowLock == RowLock.Missing)
        {
            // Another orchestrator may have started this rollout while this one waited for the deployment's lock.
            (rowLock, rollout, now) = await RolloutStore.LockAsync(db, model, skipLocked: true, cancellationToken);
            if (rowLock != RowLock.Missing)
            {
                return;
            }
        }
        var deployment = await DeploymentStore.CurrentAsync(db, model, cancellationToken);

        var change = await DecideAsync(db, model, deployment, rollout, convergence, now, cancellationToken);
        if (change is null)
        {
            await db.CommitAsync(cancellationToken);
            return;
        }
        var revision = await recorder.RecordAsync(db, deployment!, change, cancellationToken);
        await db.CommitAsync(cancellationToken);
        await recorder.PublishAsync(model, change, revision, cancellationToken);
    }

    /// <summary>The change to record, or null (nothing to decide, or only the row's window was saved).</summary>
    private async Task<RolloutChange?> DecideAsync(
        Db db,
        string model,
        DeploymentRecord? deployment,
        RolloutRecord? rollout,
        ConvergencePlan convergence,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (deployment is null)
        {
            if (rollout is { IsActive: true })
            {
                // No revision to write and no deployment to record against: the row alone says what happened.
                await RolloutStore.SaveAsync(db, Ended(rollout, RolloutState.RolledBack, AuditAction.RolloutRolledBack, now, "the deployment was deleted"), cancellationToken);
            }
            return null;
        }

        var plan = CanaryPlan.Of(deployment.Spec.Canary);
        if (rollout is null || rollout.Revision != deployment.Revision)
        {
            return await ChangedByOthersAsync(db, deployment, rollout, plan, now, cancellationToken);
        }
        if (!rollout.IsActive)
        {
            return null;
        }

        var serving = deployment.ServingStable;
        if (rollout.StepStartedAt is null || rollout.Baseline is null || serving is null || rollout.Baseline.Stable.Version != serving)
        {
            return await StartWindowAsync(db, deployment, rollout, convergence, now, cancellationToken);
        }

        StepBaseline current;
        try
        {
            current = await ReadTotalsAsync(model, serving.Value, rollout.CanaryVersion);
        }
        catch (StatisticsUnavailableException ex)
        {
            StatisticsDown(ex);
            return null;
        }
        var decision = RolloutAnalysis.Decide(new StepMeasurement(
            Plan: rollout.Plan,
            Step: rollout.Step,
            Percent: rollout.Percent,
            ElapsedSeconds: (now - rollout.StepStartedAt.Value).TotalSeconds,
            Canary: current.Canary.Since(rollout.Baseline.Canary),
            Stable: current.Stable.Since(rollout.Baseline.Stable),
            StableSinceStart: rollout.StableAtStart is { } start && start.Version == serving ? current.Stable.Since(start) : null,
            LatencyFloorMs: options.Value.LatencyGateFloorMs,
            Quality: await qualityGates.ReadAsync(deployment.Spec, rollout, serving.Value, cancellationToken)));

        var canary = deployment.Spec.Canary!;
        switch (decision.Action)
        {
            case RolloutAction.RollBack:
                return RolloutChange.RolledBack(
                    Actor,
                    decision.Reason,
                    deployment.Spec,
                    Decided(rollout, RolloutState.RolledBack, AuditAction.RolloutRolledBack, now, decision) with { Percent = 0 },
                    decision.Evidence);
            case RolloutAction.Step when rollout.State == RolloutState.Progressing:
                var next = rollout.Plan.Steps[rollout.Step + 1];
                return new RolloutChange(
                    Action: AuditAction.RolloutStep,
                    Event: NotificationEventTypes.RolloutStep,
                    Actor: Actor,
                    Reason: decision.Reason,
                    Spec: deployment.Spec with { Canary = canary with { Percent = next } },
                    Rollout: Decided(rollout, RolloutState.Progressing, AuditAction.RolloutStep, now, decision) with
                    {
                        Step = rollout.Step + 1,
                        Percent = next,
                        StepStartedAt = now,
                        Baseline = current,
                    },
                    Evidence: decision.Evidence);
            case RolloutAction.Promote when rollout.State == RolloutState.Progressing:
                return new RolloutChange(
                    Action: AuditAction.RolloutPromoted,
                    Event: NotificationEventTypes.RolloutPromoted,
                    Actor: Actor,
                    Reason: decision.Reason,
                    Spec: PromotedSpec(deployment.Spec),
                    Rollout: Decided(rollout, RolloutState.Promoted, AuditAction.RolloutPromoted, now, decision) with { Percent = 100 },
                    Evidence: decision.Evidence);
            default:
                // Waiting, or paused with the gates holding: a paused rollout still rolls back, but never moves on.
                return null;
        }
    }

    /// <summary>The deployment is at a revision this rollout did not write: a user's PUT starts a new rollout or ends this one.</summary>
    private async Task<RolloutChange?> ChangedByOthersAsync(
        Db db,
        DeploymentRecord deployment,
        RolloutRecord? rollout,
        CanaryPlan? plan,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var creator = await DeploymentStore.CreatorAsync(db, deployment.Model, deployment.Revision, cancellationToken);
        if (plan is not null)
        {
            var replacing = rollout is { IsActive: true }
                ? Invariant($"; it replaces the rollout of version {rollout.CanaryVersion}, which was at step {rollout.Step} ({RolloutAnalysis.Percent(rollout.Percent)})")
                : "";
            var reason = Invariant(
                $"revision {deployment.Revision} by {creator} rolls out version {plan.Version} over {string.Join(", ", plan.Steps.Select(RolloutAnalysis.Percent))} against stable version {deployment.Spec.Stable}{replacing}");
            return new RolloutChange(
                Action: AuditAction.RolloutStarted,
                Event: NotificationEventTypes.RolloutStarted,
                Actor: Actor,
                Reason: reason,
                Spec: null,
                Rollout: Start(deployment, plan, now, reason));
        }
        if (rollout is not { IsActive: true })
        {
            return null;
        }
        var promoted = deployment.Spec.Stable == rollout.CanaryVersion;
        var ended = Ended(rollout, promoted ? RolloutState.Promoted : RolloutState.RolledBack, promoted ? AuditAction.RolloutPromoted : AuditAction.RolloutRolledBack, now,
            Invariant($"revision {deployment.Revision} by {creator} replaced the plan: stable is version {deployment.Spec.Stable}{(deployment.Spec.Canary is { } c ? $", canary version {c.Version} at a fixed {RolloutAnalysis.Percent(c.InitialPercent)}" : ", no canary")}"))
            with { Evidence = null };
        return new RolloutChange(
            Action: ended.LastAction!.Value,
            Event: promoted ? NotificationEventTypes.RolloutPromoted : NotificationEventTypes.RolloutRolledBack,
            Actor: creator,
            Reason: ended.Reason!,
            Spec: null,
            Rollout: ended);
    }

    /// <summary>
    /// Starts (or restarts) the step's window once the canary takes traffic: the arms' counters now are its baseline.
    /// A canary that fails to load on every replica is rolled back; one still loading is waited for.
    /// </summary>
    private async Task<RolloutChange?> StartWindowAsync(
        Db db,
        DeploymentRecord deployment,
        RolloutRecord rollout,
        ConvergencePlan convergence,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (FailedEverywhere(convergence, deployment, rollout.CanaryVersion) is { } failure)
        {
            var reason = Invariant($"version {rollout.CanaryVersion} could not be loaded on any replica ({failure}); the canary never took traffic");
            return RolloutChange.RolledBack(Actor, reason, deployment.Spec, Ended(rollout, RolloutState.RolledBack, AuditAction.RolloutRolledBack, now, reason));
        }
        if (deployment.ServingStable is not { } serving || convergence.ReadyOn(deployment, rollout.CanaryVersion).Count == 0)
        {
            return null;
        }
        StepBaseline baseline;
        try
        {
            baseline = await ReadTotalsAsync(deployment.Model, serving, rollout.CanaryVersion);
        }
        catch (StatisticsUnavailableException ex)
        {
            StatisticsDown(ex);
            return null;
        }
        await RolloutStore.SaveAsync(db, rollout with
        {
            StepStartedAt = now,
            Baseline = baseline,
            StableAtStart = rollout.StableAtStart is { } start && start.Version == serving ? start : baseline.Stable,
        }, cancellationToken);
        return null;
    }

    private async Task<StepBaseline> ReadTotalsAsync(string model, long stable, long canary)
    {
        var stableTotals = statistics.ReadAsync(model, stable, ArmStatisticsKeys.Stable);
        var canaryTotals = statistics.ReadAsync(model, canary, ArmStatisticsKeys.Canary);
        var baseline = new StepBaseline(await stableTotals, await canaryTotals);
        if (_statisticsDown)
        {
            _statisticsDown = false;
            LogStatisticsBack(logger);
        }
        return baseline;
    }

    private void StatisticsDown(StatisticsUnavailableException exception)
    {
        if (!_statisticsDown)
        {
            _statisticsDown = true;
            LogStatisticsDown(logger, exception);
        }
    }

    /// <summary>Why the version failed, when it failed on every replica holding the deployment (and there is one); else null.</summary>
    private static string? FailedEverywhere(ConvergencePlan convergence, DeploymentRecord deployment, long version)
    {
        var replicas = convergence.AssignedReplicas(deployment);
        if (replicas.Count == 0)
        {
            return null;
        }
        string? reason = null;
        foreach (var replica in replicas)
        {
            var state = convergence.StateOf(replica.Id, deployment.Model, version);
            if (state?.State != ReplicaModelPhase.Failed)
            {
                return null;
            }
            reason ??= $"{replica.Id}: {state.Reason}";
        }
        return reason;
    }

    public static DeploymentSpec PromotedSpec(DeploymentSpec spec)
    {
        var version = spec.Canary!.Version;
        return spec with { Stable = version, Canary = null, Shadow = spec.Shadow?.Version == version ? null : spec.Shadow };
    }

    public static RolloutRecord Start(DeploymentRecord deployment, CanaryPlan plan, DateTimeOffset now, string reason) => new(
        Model: deployment.Model,
        Revision: deployment.Revision,
        StartedRevision: deployment.Revision,
        StableVersion: deployment.Spec.Stable,
        CanaryVersion: plan.Version,
        Plan: plan,
        State: RolloutState.Progressing,
        Step: 0,
        Percent: deployment.Spec.Canary!.InitialPercent,
        StartedAt: now,
        StepStartedAt: null,
        Baseline: null,
        StableAtStart: null,
        LastAction: AuditAction.RolloutStarted,
        LastDecisionAt: now,
        Reason: reason,
        Evidence: null);

    private static RolloutRecord Decided(RolloutRecord rollout, RolloutState state, AuditAction action, DateTimeOffset now, RolloutDecision decision) =>
        rollout with
        {
            State = state,
            LastAction = action,
            LastDecisionAt = now,
            Reason = decision.Reason,
            Evidence = System.Text.Json.JsonSerializer.SerializeToNode(decision.Evidence, ControlPlaneJson.Options),
        };

    public static RolloutRecord Ended(RolloutRecord rollout, RolloutState state, AuditAction action, DateTimeOffset now, string reason) =>
        rollout with
        {
            State = state,
            Percent = state == RolloutState.Promoted ? 100 : 0,
            LastAction = action,
            LastDecisionAt = now,
            Reason = reason,
        };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout controller: could not look at {Model} this tick; it tries again on the next")]
    private static partial void LogTickFailed(ILogger logger, Exception exception, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout controller: per-arm statistics cannot be read; rollouts wait until the numbers can be read again")]
    private static partial void LogStatisticsDown(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout controller: per-arm statistics can be read again")]
    private static partial void LogStatisticsBack(ILogger logger);
}
