using Hyperion.Orchestrator.Deployments;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Captures;

/// <summary>
/// Deletes captures older than their deployment's <c>monitoring.retention_days</c> (a model whose deployment no
/// longer monitors: <see cref="DeploymentSpecValidator.DefaultRetentionDays"/>) every
/// <see cref="CaptureOptions.RetentionSweepSeconds"/>, in bounded batches so no statement holds locks for long.
/// Replicas sweeping at once only share the work. Nothing is deleted while the database cannot be asked.
/// </summary>
internal sealed partial class CaptureRetentionSweeper(
    CaptureStore store,
    CaptureMetrics metrics,
    IOptions<CaptureOptions> options,
    TimeProvider time,
    ILogger<CaptureRetentionSweeper> logger) : BackgroundService
{
    private const int DeleteBatch = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RetentionSweepSeconds), time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (NpgsqlException ex)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Deletes every expired capture; returns how many (tests call it directly).</summary>
    public async Task<long> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        long deleted = 0;
        int batch;
        do
        {
            batch = await store.DeleteExpiredAsync(now, DeploymentSpecValidator.DefaultRetentionDays, DeleteBatch, cancellationToken);
            deleted += batch;
            metrics.Add(CaptureMetrics.Expired, batch);
        }
        while (batch == DeleteBatch);
        if (deleted > 0)
        {
            LogSwept(logger, deleted);
        }
        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Capture retention deleted {Count} captures")]
    private static partial void LogSwept(ILogger logger, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Capture retention sweep skipped, nothing deleted")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
