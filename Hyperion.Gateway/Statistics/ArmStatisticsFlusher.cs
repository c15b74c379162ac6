using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Gateway.Statistics;

/// <summary>
/// Adds the counted deltas to the arms' Redis hashes once a second, one script call per arm (several gateway
/// replicas add to the same hashes). While Redis is down the deltas wait in memory.
/// </summary>
internal sealed partial class ArmStatisticsFlusher(ArmStatistics statistics, IConnectionMultiplexer redis, ILogger<ArmStatisticsFlusher> logger) : BackgroundService
{
    private const string Script = """
        local key = KEYS[1]
        if tonumber(ARGV[2]) ~= 0 then redis.call('HINCRBYFLOAT', key, 'latency_ms_sum', ARGV[2]) end
        if tonumber(ARGV[3]) ~= 0 then redis.call('HINCRBYFLOAT', key, 'abs_diff_sum', ARGV[3]) end
        local max = tonumber(ARGV[4])
        if max >= 0 then
          local current = tonumber(redis.call('HGET', key, 'abs_diff_max') or '-1')
          if max > current then redis.call('HSET', key, 'abs_diff_max', ARGV[4]) end
        end
        for i = 5, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', key, ARGV[1])
        return 1
        """;

    private static readonly string[] s_bucketFields =
        [.. ArmStatisticsKeys.LatencyBucketsMs.Select(ArmStatisticsKeys.BucketField), ArmStatisticsKeys.OverflowBucket];

    private static readonly RedisScript s_script = new(Script);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
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

    /// <summary>Writes everything counted so far (tests and shutdown call it directly).</summary>
    public async Task FlushAsync()
    {
        foreach (var (key, counters) in statistics.All)
        {
            if (counters.Drain() is not { } delta)
            {
                continue;
            }
            if (!redis.IsConnected)
            {
                counters.Restore(delta);
                continue;
            }
            try
            {
                await s_script.EvaluateAsync(redis, [ArmStatisticsKeys.For(key.Model, key.Version, key.Arm)], Arguments(delta)).WaitAsync(TimeSpan.FromSeconds(2));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                counters.Restore(delta);
                LogFlushFailed(logger, ex);
            }
        }
    }

    private static RedisValue[] Arguments(ArmDelta delta)
    {
        var values = new List<RedisValue>(8 + (2 * s_bucketFields.Length))
        {
            (long)ArmStatisticsKeys.TimeToLive.TotalSeconds,
            delta.LatencySumMs.ToString("R", CultureInfo.InvariantCulture),
            delta.AbsDiffSum.ToString("R", CultureInfo.InvariantCulture),
            delta.AbsDiffMax.ToString("R", CultureInfo.InvariantCulture),
        };
        void Add(string field, long value)
        {
            if (value != 0)
            {
                values.Add(field);
                values.Add(value);
            }
        }
        Add(ArmStatisticsKeys.Requests, delta.Requests);
        Add(ArmStatisticsKeys.Errors, delta.Errors);
        Add(ArmStatisticsKeys.Compared, delta.Compared);
        Add(ArmStatisticsKeys.Agreed, delta.Agreed);
        for (var i = 0; i < s_bucketFields.Length; i++)
        {
            Add(s_bucketFields[i], delta.Buckets[i]);
        }
        return [.. values];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write arm statistics to Redis (kept for the next try)")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
