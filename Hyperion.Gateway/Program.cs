using Hyperion.Gateway.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("cache", RedisClientDefaults.Settings(builder, "cache"), RedisClientDefaults.Options());
builder.AddRedisReadinessCheck("cache");
builder.AddGateway();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGateway();
app.Run();
