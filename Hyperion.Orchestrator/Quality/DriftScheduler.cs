using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// The drift schedule: every <see cref="QualityOptions.DriftIntervalSeconds"/> one orchestrator replica (the one that
/// takes the lease, a PostgreSQL advisory lock held for the round) computes the drift of every version named by a
/// deployment with <c>monitoring</c> whose version has a baseline profile, judges its quality
/// (<see cref="QualityWatch"/>) and prunes drift history past <see cref="QualityOptions.DriftHistoryDays"/>. Every
/// replica, lease or not, then reads the latest scores back for its gauges. With
/// <see cref="QualityOptions.ComputeOnSchedule"/> off the rounds come from outside instead (<c>POST /api/v1/drift/run</c>,
/// the published Kubernetes CronJob) and the timer only refreshes the gauges.
/// </summary>
internal sealed partial class DriftScheduler(
    NpgsqlDataSource dataSource,
    DriftRunner runner,
    QualityWatch quality,
    QualitySignals signals,
    IOptions<QualityOptions> options,
    ILogger<DriftScheduler> logger) : BackgroundService
{
    private const string LeaseName = "hyperion.drift-schedule";
    private static readonly string Actor = ActorClaims.System("quality");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.DriftIntervalSeconds));
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

    /// <summary>One scheduled round (tests call it directly); false when another replica held the lease.</summary>
    public async Task<bool> TickAsync(CancellationToken cancellationToken)
    {
        var leased = false;
        try
        {
            await using var lease = await Db.BeginAsync(dataSource, cancellationToken);
            await using (var command = lease.Command($"SELECT pg_try_advisory_xact_lock(hashtextextended('{LeaseName}', 0))"))
            {
                leased = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
            }
            if (leased && options.Value.ComputeOnSchedule)
            {
                await ComputeAllAsync(lease, DriftTriggers.Schedule, Actor, cancellationToken);
                await PruneAsync(lease, cancellationToken);
            }
            signals.ReplaceDrift(await DriftResultStore.LatestScoresAsync(lease, cancellationToken));
            signals.ReplaceQuality(await QualityResultStore.LatestAsync(lease, cancellationToken));
            await lease.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogTickFailed(logger, ex, "(all)");
        }
        return leased;
    }

    /// <summary>
    /// A round asked for from outside (<c>POST /api/v1/drift/run</c>): waits for a round another replica is running
    /// to end, then runs one and answers what it computed.
    /// </summary>
    public async Task<IReadOnlyList<DriftRoundEntry>> RunAsync(string actor, CancellationToken cancellationToken)
    {
        await using var lease = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var command = lease.Command($"SELECT pg_advisory_xact_lock(hashtextextended('{LeaseName}', 0))"))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        var entries = await ComputeAllAsync(lease, DriftTriggers.Schedule, actor, cancellationToken);
        await PruneAsync(lease, cancellationToken);
        signals.ReplaceDrift(await DriftResultStore.LatestScoresAsync(lease, cancellationToken));
        signals.ReplaceQuality(await QualityResultStore.LatestAsync(lease, cancellationToken));
        await lease.CommitAsync(cancellationToken);
        return entries;
    }

    private async Task<List<DriftRoundEntry>> ComputeAllAsync(Db lease, string trigger, string actor, CancellationToken cancellationToken)
    {
        var entries = new List<DriftRoundEntry>();
        foreach (var deployment in await DeploymentStore.ReadDeploymentsAsync(lease, model: null, cancellationToken))
        {
            if (deployment.Spec.Monitoring is { } monitoring)
            {
                await MonitorAsync(deployment, monitoring, trigger, actor, entries, cancellationToken);
            }
        }
        return entries;
    }

    private async Task MonitorAsync(
        DeploymentRecord deployment, MonitoringSpec monitoring, string trigger, string actor, List<DriftRoundEntry> entries, CancellationToken cancellationToken)
    {
        foreach (var number in deployment.Spec.NamedVersions().Distinct())
        {
            try
            {
                MonitoredVersion? version;
                await using (var db = await Db.OpenAsync(dataSource, cancellationToken))
                {
                    version = await MonitoredVersion.ReadAsync(db, deployment.Model, number, cancellationToken);
                }
                if (version is null)
                {
                    continue;
                }
                if (version.Profile is not null)
                {
                    var result = await runner.RunAsync(version, monitoring, trigger, actor, cancellationToken);
                    entries.Add(new DriftRoundEntry(deployment.Model, number, result.Rows, result.Score, result.Drifted, result.Reason));
                }
                else
                {
                    entries.Add(new DriftRoundEntry(deployment.Model, number, 0, null, false,
                        "the version has no baseline_profile to compare with; upload one with the version to monitor its drift"));
                }
                await quality.JudgeAsync(version, monitoring, actor, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // One version's trouble (a capture that does not parse, a database hiccup) must not stop the others:
                // it is tried again at the next round.
                LogTickFailed(logger, ex, $"{deployment.Model} version {number}");
                entries.Add(new DriftRoundEntry(deployment.Model, number, 0, null, false, "could not be computed: " + ex.Message));
            }
        }
    }

    /// <summary>Drift history older than <see cref="QualityOptions.DriftHistoryDays"/> goes; the latest result of each version stays whatever its age.</summary>
    private async Task PruneAsync(Db lease, CancellationToken cancellationToken)
    {
        var pruned = await DriftResultStore.PruneAsync(lease, time: DateTimeOffset.UtcNow.AddDays(-options.Value.DriftHistoryDays), cancellationToken);
        if (pruned > 0)
        {
            LogPruned(logger, pruned, options.Value.DriftHistoryDays);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drift schedule: deleted {Count} drift results older than {Days} days")]
    private static partial void LogPruned(ILogger logger, int count, double days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift schedule: could not compute {Target} this round; it tries again at the next")]
    private static partial void LogTickFailed(ILogger logger, Exception exception, string target);
}
