using System.Net;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>Stable and canary by percent, sticky sessions, explicit versions, and the per-arm statistics in Redis.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayTrafficPolicyTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Canary_gets_its_share_sticky_sessions_keep_their_version_and_an_explicit_version_wins()
    {
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1, "canary": {"version": 2, "percent": 30}}"""));
        // Some 300 calls in a few seconds: a key whose plan allows them (the default plan would answer 429).
        var key = await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 10_000, burst: 10_000);
        using var gateway = hyperion.CreateGatewayClient(key);
        // Each replica refreshes its routing table on the change notice; the sticky check below asks both.
        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var client = hyperion.CreateGatewayClient(key, replica);
            await WaitUntilAsync(async () =>
            {
                using var response = await InferAsync(client, model);
                return VersionOf(response) == "2";
            }, TimeSpan.FromMinutes(1), $"the canary taking traffic on gateway replica {replica}");
        }

        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 200; i++)
        {
            using var response = await InferAsync(gateway, model);
            var body = await JsonAsync(response);
            var version = VersionOf(response);
            Assert.Equal(version, body.GetProperty("model_version").GetString()); // the header tells the version that answered
            counts[version] = counts.GetValueOrDefault(version) + 1;
        }
        // 30 % of 200: 60 expected; the bounds hold with overwhelming probability (binomial sd ~6.5).
        Assert.InRange(counts.GetValueOrDefault("2"), 30, 95);
        Assert.Equal(200, counts.GetValueOrDefault("1") + counts.GetValueOrDefault("2"));

        // The same session sees one version, on either gateway replica.
        for (var session = 0; session < 10; session++)
        {
            var seen = new HashSet<string>();
            for (var i = 0; i < 6; i++)
            {
                using var sticky = hyperion.CreateGatewayClient(key, i % hyperion.Gateways);
                using var response = await InferAsync(sticky, model, configure: request => request.Headers.Add("X-Hyperion-Session", $"user-{session}"));
                seen.Add($"{VersionOf(response)} ({(int)response.StatusCode})");
            }
            Assert.True(seen.Count == 1, $"session user-{session} saw {string.Join(", ", seen)}");
        }

        using var pinned = await InferAsync(gateway, model, $"/v2/models/{model}/versions/2/infer");
        Assert.Equal("2", (await JsonAsync(pinned)).GetProperty("model_version").GetString());
        Assert.Equal("2", VersionOf(pinned));
    }

    [Fact]
    public async Task Each_arm_counts_requests_errors_and_latency_in_Redis()
    {
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1, "canary": {"version": 2, "percent": 50}}"""));
        using var gateway = hyperion.CreateGatewayClient();
        for (var i = 0; i < 40; i++)
        {
            using var response = await InferAsync(gateway, model);
        }
        using var bad = await InferAsync(gateway, model, body: """{"inputs": []}"""); // a client error, not an error of the arm

        var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var database = redis.GetDatabase();
        long Field(HashEntry[] entries, string name) => entries.Where(e => e.Name == name).Select(e => (long)e.Value).FirstOrDefault();
        HashEntry[] stable = [], canary = [];
        await WaitUntilAsync(async () =>
        {
            stable = await database.HashGetAllAsync(ArmStatisticsKeys.For(model, 1, ArmStatisticsKeys.Stable));
            canary = await database.HashGetAllAsync(ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Canary));
            return Field(stable, ArmStatisticsKeys.Requests) + Field(canary, ArmStatisticsKeys.Requests) >= 41;
        }, TimeSpan.FromSeconds(10), "the statistics flushed (once a second)");

        Assert.True(Field(stable, ArmStatisticsKeys.Requests) > 0 && Field(canary, ArmStatisticsKeys.Requests) > 0);
        Assert.Equal(0, Field(stable, ArmStatisticsKeys.Errors) + Field(canary, ArmStatisticsKeys.Errors));
        var buckets = stable.Where(e => e.Name.ToString().StartsWith("le_", StringComparison.Ordinal)).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        Assert.Equal(Field(stable, ArmStatisticsKeys.Requests), buckets.Values.Sum());
        Assert.NotNull(ArmStatisticsKeys.Quantile(buckets, 0.95));
        Assert.True(await database.KeyTimeToLiveAsync(ArmStatisticsKeys.For(model, 1, ArmStatisticsKeys.Stable)) > TimeSpan.FromDays(6));
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task A_deployment_change_is_followed_at_once()
    {
        var model = await hyperion.DeployIdentityAsync(2, Deployment("""{"stable": 1}"""));
        using var admin = hyperion.CreateApiClient();
        using (var put = await admin.PutAsync($"/api/v1/deployments/{model}", Hyperion.Tests.ControlPlane.KeysTestApi.Json("""{"stable": 2}""")))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        using var gateway = hyperion.CreateGatewayClient();
        await WaitUntilAsync(async () =>
        {
            using var response = await InferAsync(gateway, model);
            return response.StatusCode == HttpStatusCode.OK && VersionOf(response) == "2";
        }, TimeSpan.FromSeconds(60), "version 2 stable");
    }

    [Fact]
    public async Task A_canary_failing_over_gRPC_counts_its_errors_as_one_failing_over_REST_does()
    {
        // Version 2 fails every run (testdata's digits_failing): 500 over REST, INTERNAL over gRPC (an HTTP 200
        // whose grpc-status trailer says so). The rollout gates read the errors, so both must count.
        using var admin = hyperion.CreateApiClient();
        var model = Hyperion.Tests.ControlPlane.RegistryTestData.UniqueName("grpcerr");
        await Hyperion.Tests.ControlPlane.RegistryTestData.CreateModelAsync(admin, model);
        await Hyperion.Tests.ControlPlane.RegistryTestData.UploadOkAsync(admin, model, Hyperion.Tests.ControlPlane.RegistryTestData.Digits);
        await Hyperion.Tests.ControlPlane.RegistryTestData.UploadOkAsync(admin, model, Hyperion.Tests.ControlPlane.RegistryTestData.Model("digits_failing"));
        using (var put = await admin.PutAsync($"/api/v1/deployments/{model}", Hyperion.Tests.ControlPlane.KeysTestApi.Json("""{"stable": 1, "canary": {"version": 2, "percent": 100}}""")))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var pixels = Hyperion.Tests.ControlPlane.DeploymentTestSupport.DigitsRequest;
        using var gateway = hyperion.CreateGatewayClient();
        await WaitUntilAsync(async () =>
        {
            using var response = await InferAsync(gateway, model, body: pixels);
            return response.StatusCode == HttpStatusCode.InternalServerError && VersionOf(response) == "2";
        }, TimeSpan.FromMinutes(1), "the failing canary taking the traffic");

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(hyperion.GetEndpoint("gateway", "grpc"));
        var client = new Hyperion.Inference.Protocol.Grpc.V2.GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new Hyperion.Inference.Protocol.Grpc.V2.ModelInferRequest { ModelName = model };
        request.Inputs.Add(new Hyperion.Inference.Protocol.Grpc.V2.ModelInferRequest.Types.InferInputTensor { Name = "pixels", Datatype = "FP32", Shape = { 1, 64 } });
        request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(GatewayRoutingTests.MemoryMarshalFloats(new float[64])));
        var headers = new Grpc.Core.Metadata { { "authorization", "Bearer " + hyperion.AdminKey } };
        const int Calls = 6;
        for (var i = 0; i < Calls; i++)
        {
            var failed = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await client.ModelInferAsync(request, headers));
            Assert.Equal(Grpc.Core.StatusCode.Internal, failed.StatusCode);
        }

        var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var database = redis.GetDatabase();
        HashEntry[] canary = [];
        long Field(string name) => canary.Where(e => e.Name == name).Select(e => (long)e.Value).FirstOrDefault();
        await WaitUntilAsync(async () =>
        {
            canary = await database.HashGetAllAsync(ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Canary));
            // The REST call that found the canary, then the gRPC calls.
            return Field(ArmStatisticsKeys.Requests) >= 1 + Calls;
        }, TimeSpan.FromSeconds(10), "the statistics flushed (once a second)");
        Assert.Equal(Field(ArmStatisticsKeys.Requests), Field(ArmStatisticsKeys.Errors));
        await redis.DisposeAsync();
    }
}
