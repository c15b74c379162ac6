using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Registers a shared <see cref="IConnectionMultiplexer"/> from <c>ConnectionStrings:&lt;name&gt;</c> and a
/// readiness check that PINGs it, as Aspire's AddRedisClient does.
/// </summary>
public static class RedisClientExtensions
{
    /// <param name="configure">Adjusts the options after the connection string is parsed (a service's own timeouts, say).</param>
    public static TBuilder AddRedisClient<TBuilder>(this TBuilder builder, string connectionName, Action<ConfigurationOptions>? configure = null) where TBuilder : IHostApplicationBuilder
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{connectionName} is not set. Run the service through the AppHost, or set ConnectionStrings__{connectionName}=host:port,password=...");
        }
        var options = ConfigurationOptions.Parse(connectionString);
        // Start even while Redis is down and reconnect in the background: readiness reports the outage.
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 3000;
        configure?.Invoke(options);

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            connectionName,
            services => new RedisHealthCheck(services.GetRequiredService<IConnectionMultiplexer>()),
            HealthStatus.Unhealthy,
            tags: null,
            timeout: TimeSpan.FromSeconds(3)));
        return builder;
    }

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var latency = await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
                return HealthCheckResult.Healthy($"PING answered in {latency.TotalMilliseconds:0.#} ms");
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Redis does not answer PING", ex);
            }
        }
    }
}
