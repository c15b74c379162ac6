using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

// PostgreSQL through Aspire's integration. Its health check is replaced by one under the name /health has always
// used, with a timeout; its spans follow the same rule as everything else (only when traces are exported).
builder.AddNpgsqlDataSource("hyperion", settings =>
{
    ConnectionStrings.Require(settings.ConnectionString, "hyperion", "Host=...;Port=...;Username=...;Password=...;Database=...");
    settings.DisableHealthChecks = true;
    settings.DisableTracing |= !builder.ExportsTraces();
});
builder.Services.AddHealthChecks().AddNpgSql(name: "postgres", timeout: ServiceDefaultsExtensions.DependencyCheckTimeout);
builder.Services.AddHostedService<MigrationRunner>();

builder.AddRedisClient("cache", RedisClientDefaults.Settings(builder, "cache"), RedisClientDefaults.Options());
builder.AddRedisReadinessCheck("cache");
builder.AddControlPlaneApi();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapControlPlaneApi();
app.Run();
