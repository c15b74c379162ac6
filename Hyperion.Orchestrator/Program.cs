using Hyperion.Orchestrator.Persistence;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddNpgsqlDataSource("hyperion");
builder.AddRedisClient("cache");

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
