using System.Net;
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
}
