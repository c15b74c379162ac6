using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Usage;

/// <summary>
/// Moves the gateways' usage counts from Redis into <c>usage_daily</c>, each count exactly once:
/// <list type="number">
/// <item>one script renames the open hash (<see cref="UsageCounters.OpenHash"/>) to a batch key of its own and notes
/// the batch in <see cref="UsageCounters.PendingSet"/>; gateways' later adds start a new open hash, so nothing counted
/// after the rename is in the batch and nothing in it changes any more;</item>
/// <item>one PostgreSQL transaction records the batch's id in <c>usage_batches</c> and adds its counts, or, when the id
/// is already there (a retry after a crash between the commit and step 3), adds nothing;</item>
/// <item>only then is the batch deleted from Redis and the pending set.</item>
/// </list>
/// A crash anywhere leaves the batch pending, and the next round (of this or another orchestrator) finishes it: counts
/// are neither lost (they stay in Redis until committed) nor added twice (the batch id is the guard).
/// </summary>
internal sealed partial class UsageFlusher(
    IConnectionMultiplexer redis,
    NpgsqlDataSource dataSource,
    IOptions<UsageOptions> options,
    TimeProvider time,
    ILogger<UsageFlusher> logger) : BackgroundService
{
    private const string RenameScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('RENAME', KEYS[1], KEYS[2])
        redis.call('SADD', KEYS[3], KEYS[2])
        return 1
        """;

    // One flush at a time in this process: the timer's and POST /api/v1/usage/flush's.
    private readonly SemaphoreSlim _gate = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.FlushSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await FlushAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or NpgsqlException)
            {
                LogFlushFailed(logger, ex);
            }
        }
    }

    /// <summary>Moves everything counted so far; returns how many batches were added.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var database = redis.GetDatabase();
            var batch = UsageCounters.BatchPrefix + Guid.CreateVersion7().ToString("N");
            await database.ScriptEvaluateAsync(RenameScript, [UsageCounters.OpenHash, batch, UsageCounters.PendingSet]);
            var added = 0;
            foreach (var pending in await database.SetMembersAsync(UsageCounters.PendingSet))
            {
                if (await MoveAsync(database, pending.ToString(), cancellationToken))
                {
                    added++;
                }
            }
            await ForgetOldBatchesAsync(cancellationToken);
            return added;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> MoveAsync(IDatabase database, string batch, CancellationToken cancellationToken)
    {
        var entries = await database.HashGetAllAsync(batch);
        var rows = Aggregate(entries, out var unreadable);
        if (unreadable > 0)
        {
            LogUnreadable(logger, unreadable, batch);
        }
        var added = false;
        await using (var db = await Db.BeginAsync(dataSource, cancellationToken))
        {
            await using var claim = db.Command("INSERT INTO usage_batches (batch, fields) VALUES (@batch, @fields) ON CONFLICT (batch) DO NOTHING");
            claim.Bind("batch", batch);
            claim.Bind("fields", entries.Length);
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 1 && rows.Count > 0)
            {
                await using var add = db.Command("""
                    INSERT INTO usage_daily AS u (day, caller, team, model, requests, row_count, compute_ms)
                    SELECT * FROM unnest(@days, @callers, @teams, @models, @requests, @row_counts, @compute_ms)
                    ON CONFLICT (day, caller, team, model) DO UPDATE SET
                        requests = u.requests + excluded.requests,
                        row_count = u.row_count + excluded.row_count,
                        compute_ms = u.compute_ms + excluded.compute_ms
                    """);
                add.Bind("days", rows.Keys.Select(key => key.Day).ToArray());
                add.Bind("callers", rows.Keys.Select(key => key.Caller).ToArray());
                add.Bind("teams", rows.Keys.Select(key => key.Team).ToArray());
                add.Bind("models", rows.Keys.Select(key => key.Model).ToArray());
                add.Bind("requests", rows.Values.Select(counts => counts[0]).ToArray());
                add.Bind("row_counts", rows.Values.Select(counts => counts[1]).ToArray());
                add.Bind("compute_ms", rows.Values.Select(counts => counts[2]).ToArray());
                await add.ExecuteNonQueryAsync(cancellationToken);
                added = true;
            }
            await db.CommitAsync(cancellationToken);
        }
        // Only after the commit: until then the batch is what a retry starts from.
        await database.KeyDeleteAsync(batch);
        await database.SetRemoveAsync(UsageCounters.PendingSet, batch);
        return added;
    }

    /// <summary>Sums a batch's fields by day, caller, team and model: [requests, rows, compute ms].</summary>
    internal static Dictionary<(DateOnly Day, string Caller, string Team, string Model), long[]> Aggregate(HashEntry[] entries, out int unreadable)
    {
        var rows = new Dictionary<(DateOnly, string, string, string), long[]>();
        unreadable = 0;
        foreach (var entry in entries)
        {
            if (!UsageCounters.TryParse(entry.Name.ToString(), out var field) || !entry.Value.TryParse(out long value))
            {
                unreadable++;
                continue;
            }
            var key = (field.Day, field.Caller, field.Team, field.Model);
            if (!rows.TryGetValue(key, out var counts))
            {
                rows[key] = counts = new long[3];
            }
            counts[field.Metric switch { UsageCounters.Requests => 0, UsageCounters.Rows => 1, _ => 2 }] += value;
        }
        return rows;
    }

    private async Task ForgetOldBatchesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM usage_batches WHERE flushed_at < now() - make_interval(days => @days)");
        command.Bind("days", options.Value.BatchMemoryDays);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage counts could not be moved into PostgreSQL now (they stay in Redis for the next round)")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} usage fields of batch {Batch} are not in the form this version writes; skipped")]
    private static partial void LogUnreadable(ILogger logger, int count, string batch);
}
