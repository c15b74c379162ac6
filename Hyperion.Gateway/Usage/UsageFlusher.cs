using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Statistics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.Usage;

/// <summary>
/// Adds the counted usage to Redis's open usage hash (<see cref="UsageCounters.OpenHash"/>) every
/// <see cref="UsageOptions.FlushMilliseconds"/>, in one script call; the orchestrator moves the hash into PostgreSQL.
/// While Redis is not connected the counts wait in memory. A call that fails or times out after it was sent may or may
/// not have been applied, so it is kept and sent again as it was, under the same id: the script applies an id once
/// (a marker key, kept an hour), so a retried write neither loses nor doubles counts.
/// </summary>
internal sealed partial class UsageFlusher(UsageMeter meter, IConnectionMultiplexer redis, IOptions<GatewayOptions> options, ILogger<UsageFlusher> logger) : BackgroundService
{
    private const string AppliedPrefix = "hyperion:usage:applied:";

    private static readonly RedisScript s_script = new("""
        if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', 3600) then return 0 end
        for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
        return 1
        """);

    // Writes sent whose outcome is unknown; sent again first, under their ids. Only the flush loop touches it.
    private readonly Queue<(RedisKey Applied, RedisValue[] Values)> _unsure = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Usage.Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.Usage.FlushMilliseconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
            await FlushAsync();
        }
    }

    /// <summary>Writes everything counted so far (shutdown calls it too).</summary>
    public async Task FlushAsync()
    {
        while (_unsure.TryPeek(out var retry))
        {
            if (!await TrySendAsync(retry.Applied, retry.Values))
            {
                return;
            }
            _unsure.Dequeue();
        }

        var drained = new List<(UsageCounts Counts, (long Requests, long Rows, long ComputeMilliseconds) Delta)>();
        var values = new List<RedisValue>();
        foreach (var (key, counts) in meter.All)
        {
            var delta = counts.Drain();
            if (delta == default)
            {
                continue;
            }
            drained.Add((counts, delta));
            Add(values, key, UsageCounters.Requests, delta.Requests);
            Add(values, key, UsageCounters.Rows, delta.Rows);
            Add(values, key, UsageCounters.ComputeMilliseconds, delta.ComputeMilliseconds);
        }
        if (drained.Count == 0)
        {
            meter.ForgetOldDays();
            return;
        }
        if (!redis.IsConnected)
        {
            // Nothing was sent: the counts go back, to be sent with the next ones.
            foreach (var (counts, delta) in drained)
            {
                counts.Restore(delta);
            }
            return;
        }
        RedisKey applied = AppliedPrefix + Guid.CreateVersion7().ToString("N");
        RedisValue[] batch = [.. values];
        if (!await TrySendAsync(applied, batch))
        {
            _unsure.Enqueue((applied, batch));
        }
    }

    private async Task<bool> TrySendAsync(RedisKey applied, RedisValue[] values)
    {
        try
        {
            await s_script.EvaluateAsync(redis, [UsageCounters.OpenHash, applied], values).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogFlushFailed(logger, ex);
            return false;
        }
    }

    private static void Add(List<RedisValue> values, UsageKey key, string metric, long value)
    {
        if (value != 0)
        {
            values.Add(UsageCounters.Field(key.Day, key.Caller, key.Team, key.Model, metric));
            values.Add(value);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not add usage counts to Redis (kept for the next try)")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
