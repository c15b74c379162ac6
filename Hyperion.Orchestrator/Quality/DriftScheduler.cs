using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// The drift schedule: every <see cref="QualityOptions.DriftIntervalSeconds"/> one orchestrator replica (the one that
/// takes the lease, a PostgreSQL advisory lock held for the tick) computes the drift of every version named by a
/// deployment with <c>monitoring</c> whose version has a baseline profile, and judges its quality
/// (<see cref="QualityWatch"/>). Every replica, lease or not, then reads the latest scores back for its gauges.
/// </summary>
internal sealed partial class DriftScheduler(
    NpgsqlDataSource dataSource,
    DriftRunner runner,
    QualityWatch quality,
    QualitySignals signals,
    IOptions<QualityOptions> options,
    ILogger<DriftScheduler> logger) : BackgroundService
{
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

    /// <summary>One round (tests call it directly); false when another replica held the lease.</summary>
    public async Task<bool> TickAsync(CancellationToken cancellationToken)
    {
        var leased = false;
        try
        {
            await using var lease = await Db.BeginAsync(dataSource, cancellationToken);
            await using (var command = lease.Command("SELECT pg_try_advisory_xact_lock(hashtextextended('hyperion.drift-schedule', 0))"))
            {
                leased = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
            }
            if (leased)
            {
                foreach (var deployment in await DeploymentStore.ReadDeploymentsAsync(lease, model: null, cancellationToken))
                {
                    if (deployment.Spec.Monitoring is { } monitoring)
                    {
                        await MonitorAsync(deployment, monitoring, cancellationToken);
                    }
                }
            }
            signals.ReplaceDrift(await DriftResultStore.LatestScoresAsync(lease, cancellationToken));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogTickFailed(logger, ex, "(all)");
        }
        return leased;
    }

    private async Task MonitorAsync(DeploymentRecord deployment, MonitoringSpec monitoring, CancellationToken cancellationToken)
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
                    await runner.RunAsync(version, monitoring, DriftTriggers.Schedule, Actor, cancellationToken);
                }
                await quality.JudgeAsync(version, monitoring, Actor, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // One version's trouble (a capture that does not parse, a database hiccup) must not stop the others:
                // it is tried again at the next interval.
                LogTickFailed(logger, ex, $"{deployment.Model} version {number}");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift schedule: could not compute {Target} this round; it tries again at the next")]
    private static partial void LogTickFailed(ILogger logger, Exception exception, string target);
}
