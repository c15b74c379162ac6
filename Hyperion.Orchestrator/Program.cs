using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("hyperion");
builder.AddRedisClient("cache");
builder.AddControlPlaneApi();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapControlPlaneApi();
app.Run();
