using System.Net;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>The response cache (when the deployment enables it) and shadow traffic (invisible to the client, recorded per arm).</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayCacheAndShadowTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Identical_requests_are_answered_from_the_cache_on_any_replica_until_a_client_opts_out()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1, "cache": {"enabled": true, "ttl_seconds": 60}}"""));
        using var first = hyperion.CreateGatewayClient(replica: 0);
        using var second = hyperion.CreateGatewayClient(replica: 1);
        const string Body = """{"id": "a", "inputs":[{"name":"INPUT0","shape":[1,4],"datatype":"FP32","data":[9,8,7,6]}]}""";
        const string SameWithOtherSpacingAndId = """{ "id" : "b",  "inputs" : [ {"name":"INPUT0","shape":[1,4],"datatype":"FP32","data":[9, 8, 7, 6]} ] }""";

        using var miss = await InferAsync(first, model, body: Body);
        Assert.Equal("MISS", miss.Headers.GetValues("X-Cache").Single());
        var answer = await JsonAsync(miss);
        Assert.Equal("a", answer.GetProperty("id").GetString());

        HttpResponseMessage? hit = null;
        await WaitUntilAsync(async () =>
        {
            hit?.Dispose();
            hit = await InferAsync(second, model, body: SameWithOtherSpacingAndId);
            return hit.Headers.GetValues("X-Cache").Single() == "HIT";
        }, TimeSpan.FromSeconds(5), "the answer stored");
        var cached = await JsonAsync(hit!);
        Assert.Equal("b", cached.GetProperty("id").GetString()); // the asker's id, not the first one's
        Assert.Equal("1", VersionOf(hit!));
        Assert.Equal(answer.GetProperty("outputs").GetRawText(), cached.GetProperty("outputs").GetRawText());

        using var optOut = await InferAsync(second, model, body: Body, configure: request => request.Headers.CacheControl = new() { NoCache = true });
        Assert.Equal("BYPASS", optOut.Headers.GetValues("X-Cache").Single());
        using var other = await InferAsync(first, model, body: Body.Replace("[9,8,7,6]", "[1,1,1,1]", StringComparison.Ordinal));
        Assert.Equal("MISS", other.Headers.GetValues("X-Cache").Single());
        Assert.Equal([-1f, -1f, -1f, -1f], (await JsonAsync(other)).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task Without_a_cache_policy_nothing_is_cached()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferAsync(gateway, model);
        Assert.False(response.Headers.Contains("X-Cache"));
    }

    [Fact]
    public async Task Shadow_traffic_is_invisible_to_the_client_and_recorded_with_agreement()
    {
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1, "shadow": {"version": 2, "percent": 100}}"""));
        using var gateway = hyperion.CreateGatewayClient();
        var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var database = redis.GetDatabase();
        var shadowKey = ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Shadow);
        await WaitUntilAsync(async () =>
        {
            using var response = await InferAsync(gateway, model);
            return await database.HashExistsAsync(shadowKey, ArmStatisticsKeys.Requests);
        }, TimeSpan.FromMinutes(1), "the shadow version taking copies");

        var before = (long)await database.HashGetAsync(shadowKey, ArmStatisticsKeys.Requests);
        for (var i = 0; i < 20; i++)
        {
            using var response = await InferAsync(gateway, model);
            var body = await JsonAsync(response);
            Assert.Equal("1", VersionOf(response));
            Assert.Equal("1", body.GetProperty("model_version").GetString()); // the client only ever sees stable
        }
        await WaitUntilAsync(async () => (long)await database.HashGetAsync(shadowKey, ArmStatisticsKeys.Requests) >= before + 20,
            TimeSpan.FromSeconds(10), "20 more shadow copies counted");
        var shadow = (await database.HashGetAllAsync(shadowKey)).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        Assert.Equal("0", shadow.GetValueOrDefault(ArmStatisticsKeys.Errors, "0"));
        Assert.True(long.Parse(shadow[ArmStatisticsKeys.Compared], System.Globalization.CultureInfo.InvariantCulture) >= 20);
        Assert.Equal(shadow[ArmStatisticsKeys.Compared], shadow[ArmStatisticsKeys.Agreed]); // the same model: same top class
        Assert.Equal(0, double.Parse(shadow[ArmStatisticsKeys.AbsDiffMax], System.Globalization.CultureInfo.InvariantCulture));
        var metrics = await hyperion.CreateHttpClient("gateway").GetStringAsync("/metrics");
        Assert.Contains("hyperion_gateway_shadow_comparisons_total", metrics);
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task A_shadow_that_fails_every_copy_changes_nothing_for_the_client()
    {
        // Version 2 takes INT32, so every FP32 copy sent to it is refused; stable keeps answering.
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1, "shadow": {"version": 2, "percent": 100}}"""), lastArtifact: "identity_int32");
        using var gateway = hyperion.CreateGatewayClient();
        var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var shadowKey = ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Shadow);
        for (var i = 0; i < 30; i++)
        {
            using var response = await InferAsync(gateway, model);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1", VersionOf(response));
            Assert.Equal([-1f, -2f, -3f, -4f], (await JsonAsync(response)).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        }
        await WaitUntilAsync(async () => (long)await redis.GetDatabase().HashGetAsync(shadowKey, ArmStatisticsKeys.Requests) >= 30,
            TimeSpan.FromSeconds(60), "the refused copies counted");
        Assert.False(await redis.GetDatabase().HashExistsAsync(shadowKey, ArmStatisticsKeys.Compared)); // nothing to compare with
        await redis.DisposeAsync();
    }
}
