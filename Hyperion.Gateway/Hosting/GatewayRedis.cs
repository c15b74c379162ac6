using StackExchange.Redis;

namespace Hyperion.Gateway.Hosting;

/// <summary>
/// Redis as the gateway's request path needs it: commands time out after the shortest of the rate-limit and
/// cache budgets, and fail at once while disconnected instead of queueing, so an outage costs requests
/// nothing but the fallback (limits fail open or closed, the cache is bypassed). The multiplexer's own timeout
/// replaces a timer per request.
/// </summary>
internal static class GatewayRedis
{
    public static Action<ConfigurationOptions> Configure(IConfiguration configuration)
    {
        var defaults = new GatewayOptions();
        var rateLimit = configuration.GetValue<int?>("Gateway:RateLimiting:RedisTimeoutMilliseconds") ?? defaults.RateLimiting.RedisTimeoutMilliseconds;
        var cache = configuration.GetValue<int?>("Gateway:Caching:RedisTimeoutMilliseconds") ?? defaults.Caching.RedisTimeoutMilliseconds;
        return options =>
        {
            options.AsyncTimeout = Math.Max(10, Math.Min(rateLimit, cache));
            options.BacklogPolicy = BacklogPolicy.FailFast;
        };
    }
}
