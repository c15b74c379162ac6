using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using StackExchange.Redis;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>Token buckets in Redis, shared by the two gateway replicas of this graph.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayRateLimitTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Two_gateway_replicas_share_one_keys_bucket()
    {
        Assert.Equal(2, hyperion.Gateways);
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        var key = await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 0.01, burst: 6);
        using var first = hyperion.CreateGatewayClient(key, replica: 0);
        using var second = hyperion.CreateGatewayClient(key, replica: 1);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 12; i++)
        {
            var response = await InferAsync(i % 2 == 0 ? first : second, model);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused ??= response;
            }
            else
            {
                Assert.Equal("6", response.Headers.GetValues("RateLimit-Limit").Single());
                Assert.Equal((5 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("RateLimit-Remaining").Single());
                response.Dispose();
            }
        }
        // Six across both replicas, not six each.
        Assert.Equal(6, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(6, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.NotNull(refused);
        Assert.Contains("rate limit exceeded", await AssertOipErrorAsync(refused, HttpStatusCode.TooManyRequests));
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("0", refused.Headers.GetValues("RateLimit-Remaining").Single());
        Assert.True(int.Parse(refused.Headers.GetValues("RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Buckets_refill_at_the_plans_rate()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        var key = await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 2, burst: 2);
        using var gateway = hyperion.CreateGatewayClient(key);
        var first = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await InferAsync(gateway, model);
            first.Add(response.StatusCode);
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, first);
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        using var later = await InferAsync(gateway, model);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task A_busy_callers_leased_tokens_never_let_the_replicas_admit_more_than_the_bucket_holds()
    {
        const int burst = 160;
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var admin = hyperion.CreateApiClient();
        using var created = await admin.PostAsJsonAsync("/api/v1/keys", new
        {
            name = $"busy-{Guid.NewGuid():N}",
            scopes = new[] { "infer" },
            rate_limit = new { requests_per_second = 0.01, burst },
        });
        var body = await JsonAsync(created);
        var key = body.GetProperty("key").GetString()!;
        var bucket = $"hyperion:ratelimit:{{key:{body.GetProperty("id").GetGuid():N}}}";
        using var first = hyperion.CreateGatewayClient(key, replica: 0);
        using var second = hyperion.CreateGatewayClient(key, replica: 1);

        // Back to back on one replica: the caller is busy, so that replica leases tokens ahead (Redis's bucket drops
        // faster than the requests), yet every answer still counts down by one.
        var remaining = new List<long>();
        for (var i = 0; i < 40; i++)
        {
            using var response = await InferAsync(first, model);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            remaining.Add(long.Parse(response.Headers.GetValues("RateLimit-Remaining").Single(), CultureInfo.InvariantCulture));
        }
        for (var i = 1; i < remaining.Count; i++)
        {
            Assert.True(remaining[i] == remaining[i - 1] - 1, $"RateLimit-Remaining went {remaining[i - 1]} -> {remaining[i]} at request {i + 1}: {string.Join(", ", remaining)}");
        }
        await using var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var inRedis = (double)await redis.GetDatabase().HashGetAsync(bucket, "tokens");
        Assert.True(inRedis < burst - 40 - 1, $"Redis's bucket holds {inRedis} tokens after 40 requests of {burst}: no tokens were leased ahead");

        // Both replicas, until refused: together they admit at most the burst; at most one lease per replica
        // (1/16 of the burst) can be stranded unspent.
        var admitted = 40;
        for (var i = 0; i < 2 * burst; i++)
        {
            using var response = await InferAsync(i % 2 == 0 ? first : second, model);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                admitted++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            }
        }
        Assert.InRange(admitted, burst - (2 * burst / 16), burst);
    }
}
