using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Statistics;
using StackExchange.Redis;

namespace Hyperion.Gateway.Usage;

/// <summary>
/// Whether a caller's quotas (its key's and its team's, per UTC day and month) admit one more request, and if so
/// counting it, in one atomic script: every gateway replica counts in the same Redis counters
/// (<c>hyperion:quota:&lt;key:id|team:name&gt;:&lt;d|m&gt;:&lt;day or month&gt;</c>, expiring after their window), and a
/// refused request is not counted.
/// </summary>
internal sealed class QuotaCheck(IConnectionMultiplexer redis, TimeProvider time)
{
    // KEYS: counters; ARGV: limit and time to live of each. Returns {0, least remaining} or {index of the used-up one, used}.
    private static readonly RedisScript s_script = new("""
        for i = 1, #KEYS do
          local used = tonumber(redis.call('GET', KEYS[i]) or '0')
          if used >= tonumber(ARGV[2 * i - 1]) then return {i, used} end
        end
        local least = -1
        for i = 1, #KEYS do
          local used = redis.call('INCR', KEYS[i])
          if used == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
          local left = tonumber(ARGV[2 * i - 1]) - used
          if least < 0 or left < least then least = left end
        end
        return {0, least}
        """);

    public bool IsConnected => redis.IsConnected;

    public async Task<QuotaDecision> TakeAsync(CallerIdentity caller)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var windows = new List<QuotaWindow>(4);
        var keyName = caller.Principal.Identity?.Name ?? caller.RateLimitSubject;
        var keyPath = caller.RateLimitSubject.StartsWith("key:", StringComparison.Ordinal) && Guid.TryParseExact(caller.RateLimitSubject.AsSpan(4), "N", out var keyId)
            ? $"/api/v1/keys/{keyId}/quota"
            : "/api/v1/keys/{id}/quota";
        Add(windows, caller.Quota, caller.RateLimitSubject, $"key '{keyName}'", keyPath, now);
        if (caller.Team is { } team)
        {
            Add(windows, caller.TeamQuota, "team:" + team, $"team '{team}'", $"/api/v1/teams/{team}/quota", now);
        }
        var keys = new RedisKey[windows.Count];
        var values = new RedisValue[windows.Count * 2];
        for (var i = 0; i < windows.Count; i++)
        {
            keys[i] = windows[i].RedisKey;
            values[2 * i] = windows[i].Limit;
            values[(2 * i) + 1] = (long)(windows[i].Resets - now).TotalSeconds + 3600;
        }
        var result = (RedisResult[])(await s_script.EvaluateAsync(redis, keys, values))!;
        var index = (int)result[0];
        return index == 0
            ? new QuotaDecision(null, (long)result[1], now)
            : new QuotaDecision(windows[index - 1], (long)result[1], now);
    }

    private static void Add(List<QuotaWindow> windows, UsageQuota? quota, string subject, string owner, string path, DateTime now)
    {
        if (quota?.RequestsPerDay is { } perDay)
        {
            windows.Add(new QuotaWindow(
                $"hyperion:quota:{subject}:d:{now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}", perDay, owner, "day", "today", path, now.Date.AddDays(1)));
        }
        if (quota?.RequestsPerMonth is { } perMonth)
        {
            var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
            windows.Add(new QuotaWindow(
                $"hyperion:quota:{subject}:m:{now.ToString("yyyy-MM", CultureInfo.InvariantCulture)}", perMonth, owner, "month", "this month", path, month.AddMonths(1)));
        }
    }
}

/// <param name="Owner">Whose quota, as a message names it: <c>key 'ci'</c> or <c>team 'vision'</c>.</param>
/// <param name="Period">"day" or "month" (UTC).</param>
/// <param name="Current">The window as a message names it: "today" or "this month".</param>
/// <param name="Path">The call by which an admin changes this quota.</param>
internal sealed record QuotaWindow(string RedisKey, long Limit, string Owner, string Period, string Current, string Path, DateTime Resets);

/// <param name="Exceeded">The quota used up; null when the request was admitted (and counted).</param>
/// <param name="Count">Admitted: the least remaining of the caller's quotas. Refused: what the used-up one has counted.</param>
internal sealed record QuotaDecision(QuotaWindow? Exceeded, long Count, DateTime Now)
{
    public long SecondsToReset => Exceeded is null ? 0 : Math.Max(1, (long)Math.Ceiling((Exceeded.Resets - Now).TotalSeconds));
}
