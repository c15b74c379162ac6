using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Captures;

/// <summary>
/// Moves captured traffic from the gateways' Redis stream (<see cref="CaptureStream"/>) into <c>captures</c>. Every
/// orchestrator replica is one consumer of one group, so each entry is stored once; a batch is written in one
/// statement and acknowledged only after it committed. While Redis or PostgreSQL is down it retries with back-off,
/// keeping what it read pending (its own pending entries are read again first); entries a stopped replica read and
/// never acknowledged are taken over after <see cref="CaptureOptions.ClaimIdleSeconds"/>. An entry that is not a
/// capture is counted, logged (at most every 10 s) and acknowledged: one bad entry never blocks the stream.
/// </summary>
internal sealed partial class CaptureIngestor(
    IConnectionMultiplexer redis,
    CaptureStore store,
    CaptureMetrics metrics,
    IOptions<CaptureOptions> options,
    TimeProvider time,
    ILogger<CaptureIngestor> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StoppedConsumerIdle = TimeSpan.FromMinutes(10);

    /// <summary>Per process: a restarted replica is a new consumer, and what the old one left pending is claimed.</summary>
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}";

    private bool _groupReady;
    private bool _ownPendingFirst = true;
    private DateTimeOffset _nextClaim = DateTimeOffset.MinValue;
    private DateTimeOffset _nextMalformedWarning = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await IngestOnceAsync(stoppingToken) > 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(options.Value.PollMilliseconds);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RedisException or NpgsqlException or TimeoutException)
            {
                // What was read stays pending: read again once the store answers.
                _ownPendingFirst = true;
                failures++;
                wait = Backoff(failures);
                LogIngestFailed(logger, ex, wait.TotalSeconds);
            }
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Reads one batch (own pending entries, then entries left by a stopped replica, then new ones), stores and acknowledges it; returns how many entries it handled.</summary>
    public async Task<int> IngestOnceAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        await EnsureGroupAsync(database);
        var entries = await ReadBatchAsync(database);
        if (entries.Length == 0)
        {
            return 0;
        }

        var models = entries.Select(CaptureEntryReader.ModelOf).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var monitoring = await store.MonitoringOfAsync(models, cancellationToken);
        var rows = new List<CaptureRow>(entries.Length);
        long malformed = 0, unmonitored = 0, trimmed = 0;
        foreach (var entry in entries)
        {
            if (entry.IsNull || entry.Values is not { Length: > 0 })
            {
                // Trimmed from the stream (MAXLEN) while pending: nothing left to read.
                trimmed++;
                continue;
            }
            if (CaptureEntryReader.ModelOf(entry) is not { } model)
            {
                malformed++;
                WarnMalformed(entry.Id.ToString(), "the entry has no model");
                continue;
            }
            if (!monitoring.TryGetValue(model, out var spec))
            {
                unmonitored++;
                continue;
            }
            try
            {
                rows.Add(CaptureEntryReader.Read(entry, spec));
            }
            catch (CaptureFormatException ex)
            {
                malformed++;
                WarnMalformed(entry.Id.ToString(), ex.Message);
            }
        }

        var (stored, refused) = await InsertAsync(rows, cancellationToken);
        malformed += refused;
        await database.StreamAcknowledgeAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, [.. entries.Select(entry => entry.Id)]);
        metrics.Add(CaptureMetrics.Stored, stored);
        metrics.Add(CaptureMetrics.Duplicate, rows.Count - refused - stored);
        metrics.Add(CaptureMetrics.Malformed, malformed);
        metrics.Add(CaptureMetrics.Unmonitored, unmonitored);
        metrics.Add(CaptureMetrics.Trimmed, trimmed);
        return entries.Length;
    }

    /// <summary>
    /// The batch in one statement; when PostgreSQL refuses a value in it (a data exception, SQLSTATE class 22, such as
    /// a string with a NUL character, which <c>jsonb</c> cannot hold), row by row, so that one such capture is counted
    /// as malformed instead of holding the stream up. Returns the rows stored and the rows refused.
    /// </summary>
    private async Task<(int Stored, int Refused)> InsertAsync(List<CaptureRow> rows, CancellationToken cancellationToken)
    {
        try
        {
            return (await store.InsertAsync(rows, cancellationToken), 0);
        }
        catch (PostgresException ex) when (IsDataException(ex) && rows.Count > 1)
        {
            int stored = 0, refused = 0;
            foreach (var row in rows)
            {
                try
                {
                    stored += await store.InsertAsync([row], cancellationToken);
                }
                catch (PostgresException rowError) when (IsDataException(rowError))
                {
                    refused++;
                    WarnMalformed(row.RequestId, rowError.MessageText);
                }
            }
            return (stored, refused);
        }
        catch (PostgresException ex) when (IsDataException(ex))
        {
            WarnMalformed(rows[0].RequestId, ex.MessageText);
            return (0, 1);
        }
    }

    private static bool IsDataException(PostgresException exception) => exception.SqlState.StartsWith("22", StringComparison.Ordinal);

    private async Task EnsureGroupAsync(IDatabase database)
    {
        if (_groupReady)
        {
            return;
        }
        try
        {
            // From the stream's start: what gateways wrote before any orchestrator ran is stored too.
            await database.StreamCreateConsumerGroupAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another replica (or an earlier run) made it.
        }
        _groupReady = true;
    }

    private async Task<StreamEntry[]> ReadBatchAsync(IDatabase database)
    {
        var count = options.Value.BatchSize;
        try
        {
            if (_ownPendingFirst)
            {
                // "0": this consumer's entries read but not acknowledged (the last batch failed to store).
                var pending = await database.StreamReadGroupAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, _consumer, "0", count);
                if (pending.Length > 0)
                {
                    return pending;
                }
                _ownPendingFirst = false;
            }
            var now = time.GetUtcNow();
            if (now >= _nextClaim)
            {
                var idle = TimeSpan.FromSeconds(options.Value.ClaimIdleSeconds);
                _nextClaim = now + idle / 2;
                var claimed = await database.StreamAutoClaimAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, _consumer, (long)idle.TotalMilliseconds, "0-0", count);
                if (claimed.ClaimedEntries.Length > 0)
                {
                    _nextClaim = now; // there may be more
                    return claimed.ClaimedEntries;
                }
                await ForgetStoppedConsumersAsync(database);
            }
            return await database.StreamReadGroupAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, _consumer, StreamPosition.NewMessages, count);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // The stream was deleted (Redis flushed or restarted without persistence): make the group again.
            _groupReady = false;
            return [];
        }
    }

    /// <summary>
    /// Each process is a consumer of its own, so every restart leaves one behind; once it holds nothing and has been
    /// silent for <see cref="StoppedConsumerIdle"/> (far longer than any live replica's pause, back-off included) it is
    /// removed; a live replica that was removed anyway is added again by its next read.
    /// </summary>
    private async Task ForgetStoppedConsumersAsync(IDatabase database)
    {
        foreach (var consumer in await database.StreamConsumerInfoAsync(CaptureStream.Key, CaptureStream.ConsumerGroup))
        {
            if (consumer.PendingMessageCount == 0 && consumer.IdleTimeInMilliseconds > StoppedConsumerIdle.TotalMilliseconds && consumer.Name != _consumer)
            {
                await database.StreamDeleteConsumerAsync(CaptureStream.Key, CaptureStream.ConsumerGroup, consumer.Name);
            }
        }
    }

    private void WarnMalformed(string id, string reason)
    {
        var now = time.GetUtcNow();
        if (now >= _nextMalformedWarning)
        {
            _nextMalformedWarning = now + WarningInterval;
            LogMalformed(logger, id, reason);
        }
    }

    private static TimeSpan Backoff(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, Math.Min(failures - 1, 10))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped unreadable capture {Capture} (acknowledged; counted as malformed; at most one such message every 10 s): {Reason}")]
    private static partial void LogMalformed(ILogger logger, string capture, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Captures could not be read or stored; retrying in {Seconds} s (what was read stays unacknowledged in the stream)")]
    private static partial void LogIngestFailed(ILogger logger, Exception exception, double seconds);
}
