using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Hosting;
using Hyperion.Tests.TestSupport;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// The gateway's settings as Program.cs composes them (AddRedisClient, AddGateway), in-process on a test server:
/// every bad setting stops the start, named by its path, and what is set before the host exists comes from the
/// same validated options.
/// </summary>
public sealed class GatewayOptionsTests
{
    private const string SigningKey = "a-signing-key-of-at-least-32-bytes!";

    [Fact]
    public void Several_bad_settings_stop_the_start_naming_every_one()
    {
        var builder = Builder(new()
        {
            ["Gateway:RateLimiting:Default:RequestsPerSecond"] = "-1",
            ["Gateway:RateLimiting:PerModel:RequestsPerSecond"] = "5",
            ["Gateway:RateLimiting:PerModel:Burst"] = "0",
            ["Gateway:Auth:KeyCacheSeconds"] = "0",
            ["Gateway:Shadowing:Concurrency"] = "1000",
            ["Gateway:MaxRequestBodyBytes"] = "10",
            ["Gateway:GrpcUrl"] = "ftp://nowhere",
            ["Gateway:Auth:Jwt:SigningKey"] = "too-short",
        });

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddGateway());

        Assert.Contains("Gateway:RateLimiting:Default:RequestsPerSecond must be between 0.001 and 1000000, got -1.", error.Message);
        Assert.Contains("Gateway:RateLimiting:PerModel:Burst must be between 1 and 10000000, got 0.", error.Message);
        Assert.Contains("Gateway:Auth:KeyCacheSeconds must be between 1 and 3600, got 0.", error.Message);
        Assert.Contains("Gateway:Shadowing:Concurrency must be between 1 and 256, got 1000.", error.Message);
        Assert.Contains("Gateway:MaxRequestBodyBytes must be at least 1024, got 10.", error.Message);
        Assert.Contains("Gateway:GrpcUrl 'ftp://nowhere' must be an absolute http:// URL", error.Message);
        Assert.Contains("Gateway:Auth:Jwt:SigningKey must be at least 32 bytes (HS256)", error.Message);
        Assert.Contains("Gateway:Auth:Jwt:Audience is required when JWTs are accepted", error.Message);
        Assert.Contains("Gateway:Auth:Jwt:Issuer is required with a SigningKey", error.Message);
        Assert.Equal(9, error.Failures.Count());
    }

    [Fact]
    public async Task The_injected_options_are_validated_when_the_host_starts()
    {
        var builder = Builder([]);
        builder.AddGateway();
        // Set after the listeners were read: only the injected options see it, and they are checked too.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Gateway:Resilience:ConnectRetries"] = "-1" });
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Gateway:Resilience:ConnectRetries must be between 0 and 16, got -1.", error.Message);
    }

    [Fact]
    public async Task Jwt_bearer_and_the_redis_client_are_configured_from_the_validated_options()
    {
        var builder = Builder(new()
        {
            ["Gateway:Auth:Jwt:SigningKey"] = SigningKey,
            ["Gateway:Auth:Jwt:Issuer"] = "https://issuer.example",
            ["Gateway:Auth:Jwt:Audience"] = "hyperion",
            ["Gateway:Auth:Jwt:ScopeClaim"] = "scp",
            ["Gateway:RateLimiting:RedisTimeoutMilliseconds"] = "300",
            ["Gateway:Caching:RedisTimeoutMilliseconds"] = "120",
        });
        builder.AddGateway();
        await using var app = builder.Build();

        var bearer = app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtAuthentication.Scheme);
        Assert.False(bearer.MapInboundClaims);
        Assert.Equal("hyperion", bearer.TokenValidationParameters.ValidAudience);
        Assert.Equal("https://issuer.example", bearer.TokenValidationParameters.ValidIssuer);
        Assert.Equal("scp", bearer.TokenValidationParameters.RoleClaimType);
        Assert.NotNull(bearer.TokenValidationParameters.IssuerSigningKey);

        var redis = app.Services.GetRequiredService<IOptions<ConfigurationOptions>>().Value;
        Assert.Equal(120, redis.AsyncTimeout);
        Assert.Equal(BacklogPolicy.FailFast, redis.BacklogPolicy);
        Assert.False(redis.AbortOnConnectFail);
    }

    /// <summary>Program.cs up to AddGateway, in-process; Redis is never reached (port 1).</summary>
    private static WebApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = ServiceBuilders.Web(settings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:cache"] = "127.0.0.1:1" });
        builder.AddRedisClient("cache", RedisClientDefaults.Settings(builder, "cache"), RedisClientDefaults.Options());
        return builder;
    }
}
