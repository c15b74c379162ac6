using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.Hosting;

/// <summary>
/// Redis as the gateway's request path needs it: commands time out after the shortest of the rate-limit and
/// cache budgets, and fail at once while disconnected instead of queueing, so an outage costs requests
/// nothing but the fallback (limits fail open or closed, the cache is bypassed). The multiplexer's own timeout
/// replaces a timer per request. Applied after Aspire's client integration has read its own settings.
/// </summary>
internal static class GatewayRedis
{
    public static void Configure(IServiceCollection services) =>
        services.AddOptions<ConfigurationOptions>().Configure<IOptions<GatewayOptions>>((redis, options) =>
        {
            var gateway = options.Value;
            redis.AsyncTimeout = Math.Min(gateway.RateLimiting.RedisTimeoutMilliseconds, gateway.Caching.RedisTimeoutMilliseconds);
            redis.BacklogPolicy = BacklogPolicy.FailFast;
        });
}
