using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Statistics;
using StackExchange.Redis;

namespace Hyperion.Gateway.RateLimiting;

/// <summary>The answer of one check.</summary>
/// <param name="Limit">The binding bucket's size.</param>
/// <param name="Remaining">Whole tokens left in the binding bucket.</param>
/// <param name="ResetSeconds">Until the binding bucket is full again.</param>
/// <param name="RetryAfterSeconds">When refused: until one token is there again.</param>
/// <param name="Granted">Tokens taken (0 when refused); more than one when a lease was asked for.</param>
internal readonly record struct RateLimitDecision(bool Allowed, int Limit, long Remaining, long ResetSeconds, long RetryAfterSeconds, int Granted = 1);

/// <summary>
/// Token buckets in Redis, shared by every gateway replica: one Lua script per check takes tokens (one, or a lease of
/// several, see <see cref="TokenLeases"/>: as many as asked for and both buckets hold) from the key's bucket and, when
/// there is one, the key+model bucket, atomically (both or neither), refilled by Redis's own clock.
/// Keys: <c>hyperion:ratelimit:{&lt;subject&gt;}</c> and <c>hyperion:ratelimit:{&lt;subject&gt;}:&lt;model&gt;</c>
/// (the braces keep both in one cluster slot); hash fields <c>tokens</c> and <c>ts</c> (ms); they expire once full.
/// </summary>
internal sealed class RedisTokenBuckets(IConnectionMultiplexer redis)
{
    public const string KeyPrefix = "hyperion:ratelimit:";

    // ARGV: tokens wanted, then rate and burst per bucket.
    // Returns {tokens granted (0: refused), then per bucket: floor(tokens), ms until full, ms until one token}.
    private const string Script = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local granted = tonumber(ARGV[1])
        local tokens = {}
        for i = 1, #KEYS do
          local rate = tonumber(ARGV[i * 2])
          local burst = tonumber(ARGV[i * 2 + 1])
          local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
          local t = tonumber(state[1])
          local ts = tonumber(state[2])
          if t == nil or ts == nil then
            t = burst
          else
            t = math.min(burst, t + math.max(0, now - ts) * rate / 1000)
          end
          tokens[i] = t
          granted = math.min(granted, math.floor(t))
        end
        if granted < 1 then granted = 0 end
        local result = {granted}
        for i = 1, #KEYS do
          local rate = tonumber(ARGV[i * 2])
          local burst = tonumber(ARGV[i * 2 + 1])
          local t = tokens[i] - granted
          redis.call('HSET', KEYS[i], 'tokens', tostring(t), 'ts', now)
          local full = math.ceil((burst - t) * 1000 / rate)
          redis.call('PEXPIRE', KEYS[i], full + 1000)
          result[#result + 1] = math.floor(t)
          result[#result + 1] = full
          result[#result + 1] = math.max(0, math.ceil((1 - t) * 1000 / rate))
        end
        return result
        """;

    private static readonly RedisScript s_script = new(Script);

    public bool IsConnected => redis.IsConnected;

    /// <exception cref="RedisException">Redis could not run the script.</exception>
    public async Task<RateLimitDecision> TakeAsync(string subjectKey, RateLimitPlan plan, string? model, RateLimitPlan? modelPlan, int tokens = 1)
    {
        RedisKey[] keys = model is null || modelPlan is null ? [subjectKey] : [subjectKey, subjectKey + ":" + model];
        RedisValue[] values = model is null || modelPlan is null
            ? [tokens, plan.RequestsPerSecond, plan.Burst]
            : [tokens, plan.RequestsPerSecond, plan.Burst, modelPlan.RequestsPerSecond, modelPlan.Burst];
        var result = (RedisResult[])(await s_script.EvaluateAsync(redis, keys, values))!;
        var granted = (int)(long)result[0];

        // The binding bucket: the one with fewest tokens left.
        var binding = 0;
        for (var i = 1; i < keys.Length; i++)
        {
            if ((long)result[1 + (3 * i)] < (long)result[1 + (3 * binding)])
            {
                binding = i;
            }
        }
        var burst = binding == 0 ? plan.Burst : modelPlan!.Burst;
        var remaining = (long)result[1 + (3 * binding)];
        var resetMs = (long)result[2 + (3 * binding)];
        long retryMs = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            retryMs = Math.Max(retryMs, (long)result[3 + (3 * i)]);
        }
        return new RateLimitDecision(granted > 0, burst, Math.Max(0, remaining), CeilSeconds(resetMs), Math.Max(1, CeilSeconds(retryMs)), granted);
    }

    /// <summary>The key of a subject's bucket (<c>key:&lt;id&gt;</c> or <c>jwt:&lt;sub&gt;</c>).</summary>
    public static string SubjectKey(string subject) => string.Concat(KeyPrefix, "{", subject, "}");

    private static long CeilSeconds(long milliseconds) => (milliseconds + 999) / 1000;

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
