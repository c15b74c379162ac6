using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Hyperion.Orchestrator.Persistence;

/// <summary>
/// Registers an <see cref="NpgsqlDataSource"/> from <c>ConnectionStrings:&lt;name&gt;</c>, a readiness check
/// that runs a query on it, and the schema migrations, as Aspire's AddNpgsqlDataSource plus a migrator.
/// </summary>
internal static class NpgsqlExtensions
{
    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{connectionName} is not set. Run the orchestrator through the AppHost, or set ConnectionStrings__{connectionName}=Host=...;Port=...;Username=...;Password=...;Database=...");
        }
        builder.Services.AddSingleton(services => new NpgsqlDataSourceBuilder(connectionString)
            .UseLoggerFactory(services.GetRequiredService<ILoggerFactory>())
            .Build());
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "postgres",
            services => new PostgresHealthCheck(services.GetRequiredService<NpgsqlDataSource>()),
            HealthStatus.Unhealthy,
            tags: null,
            timeout: TimeSpan.FromSeconds(3)));
        builder.Services.AddHostedService<MigrationRunner>();
        return builder;
    }

    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL does not answer", ex);
            }
        }
    }
}
