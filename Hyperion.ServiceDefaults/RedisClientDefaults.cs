using Aspire.StackExchange.Redis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Hyperion service gives Aspire's Redis client (<c>builder.AddRedisClient</c> from
/// Aspire.StackExchange.Redis), which does the connecting, the configuration binding (<c>Aspire:StackExchange:Redis</c>)
/// and the tracing:
/// <code>
/// builder.AddRedisClient("cache", RedisClientDefaults.Settings(builder, "cache"), RedisClientDefaults.Options(configure));
/// builder.AddRedisReadinessCheck("cache");
/// </code>
/// </summary>
public static class RedisClientDefaults
{
    /// <summary>How long connecting may take before StackExchange.Redis retries in the background.</summary>
    public const int ConnectTimeoutMilliseconds = 3000;

    /// <summary>
    /// The integration's settings: a missing connection string stops start-up here (the integration would throw
    /// only when the client is first used); its health check is replaced by <see cref="AddRedisReadinessCheck"/>;
    /// its spans are recorded only when the service exports traces, sampled like the others (one TracerProvider).
    /// <c>Aspire:StackExchange:Redis:DisableTracing=true</c> turns its tracing off even then: it profiles every
    /// command, sampled or not.
    /// </summary>
    public static Action<StackExchangeRedisSettings> Settings(IHostApplicationBuilder builder, string connectionName) => settings =>
    {
        ConnectionStrings.Require(settings.ConnectionString, connectionName, "host:port,password=...");
        settings.DisableHealthChecks = true;
        settings.DisableTracing |= !builder.ExportsTraces();
    };

    /// <summary>
    /// The client's options: start even while Redis is down and reconnect in the background (readiness reports the
    /// outage), give up a connect attempt after <see cref="ConnectTimeoutMilliseconds"/>; then the service's own.
    /// </summary>
    public static Action<ConfigurationOptions> Options(Action<ConfigurationOptions>? configure = null) => options =>
    {
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = ConnectTimeoutMilliseconds;
        configure?.Invoke(options);
    };

    /// <summary>
    /// Readiness on Redis: the check Aspire's integration would add (AspNetCore.HealthChecks.Redis: PING), under the
    /// resource's name, which is how /health reports it (<c>"checks": {"cache": ...}</c>). That check does not
    /// observe cancellation, so during an outage it answers when the client gives up on the PING: at once where
    /// commands fail fast (the gateway), else after the client's AsyncTimeout.
    /// </summary>
    public static TBuilder AddRedisReadinessCheck<TBuilder>(this TBuilder builder, string connectionName) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddRedis(
            services => services.GetRequiredService<IConnectionMultiplexer>(),
            name: connectionName,
            timeout: ServiceDefaultsExtensions.DependencyCheckTimeout);
        return builder;
    }
}
