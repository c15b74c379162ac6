using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Inference.Protocol.Grpc.V2;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway;
using Hyperion.Tests.TestSupport;
using StackExchange.Redis;
using static Hyperion.Tests.Pipelines.PipelineTestApi;

namespace Hyperion.Tests.Pipelines;

/// <summary>
/// <c>POST /v2/pipelines/{p}/infer</c> through the gateway on the real graph: steps chained and side by side, JSON and
/// the binary extension, the caller's scopes and rate limit, request ids, and each step routed by its model's
/// deployment (canary, shadow, cache) or to its pinned version.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class PipelineExecutionTests(GatewayFixture hyperion)
{
    /// <summary>identity_fp32: OUTPUT0 = -INPUT0.</summary>
    private const string Request = """{"id": "call-1", "inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""";

    [Fact]
    public async Task Steps_run_in_order_and_side_by_side_and_the_answer_carries_the_pipeline_outputs()
    {
        var model = await DeployedIdentityAsync("""{"stable": 1}""");
        using var api = hyperion.CreateApiClient();
        var pipeline = RegistryTestData.UniqueName("flow");
        // neg and side read the request at once; back reads neg.
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "neg", "model": "{{{model}}}"},
                       {"name": "back", "model": "{{{model}}}", "inputs": {"INPUT0": "neg.OUTPUT0"}},
                       {"name": "side", "model": "{{{model}}}", "inputs": {"INPUT0": "$request.INPUT0"}}],
             "outputs": {"restored": "back.OUTPUT0", "negated": "neg.OUTPUT0", "beside": "side.OUTPUT0"}}
            """, HttpStatusCode.Created);

        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferRoutedAsync(gateway, pipeline, () => Json(Request), request => request.Headers.Add("X-Request-Id", "pipeline-request-1"));
        var answer = await GatewayTestApi.JsonAsync(response);
        Assert.Equal(pipeline, answer.GetProperty("model_name").GetString());
        Assert.Equal("1", answer.GetProperty("model_version").GetString());
        Assert.Equal("call-1", answer.GetProperty("id").GetString());
        Assert.Equal(["restored", "negated", "beside"], answer.GetProperty("outputs").EnumerateArray().Select(output => output.GetProperty("name").GetString()));
        Assert.Equal([1.0, 2, 3, 4], Output(answer, "restored"));
        Assert.Equal([-1.0, -2, -3, -4], Output(answer, "negated"));
        Assert.Equal([-1.0, -2, -3, -4], Output(answer, "beside"));
        Assert.Equal("pipeline-request-1", Header(response, "X-Request-Id"));
        Assert.Equal("1", Header(response, "X-Hyperion-Pipeline-Revision"));
        Assert.Equal("neg=1, back=1, side=1", Header(response, "X-Hyperion-Step-Versions"));

        // Per pipeline and per step: requests by outcome and latency, on the gateway that ran it.
        using var scraper = hyperion.CreateHttpClient("gateway");
        var metrics = (await scraper.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains(metrics, line => line.StartsWith("hyperion_gateway_pipeline_requests_total{", StringComparison.Ordinal)
            && line.Contains($"pipeline=\"{pipeline}\"", StringComparison.Ordinal) && line.Contains("outcome=\"success\"", StringComparison.Ordinal));
        Assert.Contains(metrics, line => line.StartsWith("hyperion_gateway_pipeline_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains($"pipeline=\"{pipeline}\"", StringComparison.Ordinal));
        foreach (var step in new[] { "neg", "back", "side" })
        {
            Assert.Contains(metrics, line => line.StartsWith("hyperion_gateway_pipeline_step_requests_total{", StringComparison.Ordinal)
                && line.Contains($"pipeline=\"{pipeline}\"", StringComparison.Ordinal) && line.Contains($"step=\"{step}\"", StringComparison.Ordinal));
            Assert.Contains(metrics, line => line.StartsWith("hyperion_gateway_pipeline_step_duration_seconds_bucket{", StringComparison.Ordinal)
                && line.Contains($"step=\"{step}\"", StringComparison.Ordinal));
        }

        // A client that asks for one output, in binary, gets that one after the JSON header.
        using var binary = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(
            """{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [5, 6, 7, 8]}], "outputs": [{"name": "restored", "parameters": {"binary_data": true}}]}"""));
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        var headerLength = int.Parse(Header(binary, "Inference-Header-Content-Length"), CultureInfo.InvariantCulture);
        var bytes = await binary.Content.ReadAsByteArrayAsync();
        var header = JsonDocument.Parse(bytes.AsMemory(0, headerLength)).RootElement;
        Assert.Equal("restored", header.GetProperty("outputs").EnumerateArray().Single().GetProperty("name").GetString());
        Assert.Equal([5f, 6f, 7f, 8f], MemoryMarshal.Cast<byte, float>(bytes.AsSpan(headerLength)).ToArray());

        // The binary extension in: the request's tensor as raw bytes.
        var json = """{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}"""u8.ToArray();
        var body = new byte[json.Length + 16];
        json.CopyTo(body, 0);
        MemoryMarshal.AsBytes<float>([9, 10, 11, 12]).CopyTo(body.AsSpan(json.Length));
        using var raw = new HttpRequestMessage(HttpMethod.Post, $"/v2/pipelines/{pipeline}/infer") { Content = new ByteArrayContent(body) };
        raw.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        raw.Headers.Add("Inference-Header-Content-Length", json.Length.ToString(CultureInfo.InvariantCulture));
        using var rawAnswer = await gateway.SendAsync(raw);
        Assert.Equal(new double[] { 9.0, 10, 11, 12 }, Output(await GatewayTestApi.JsonAsync(rawAnswer), "restored"));
    }

    [Fact]
    public async Task The_digits_pipeline_of_the_docs_scales_the_images_and_classifies_them()
    {
        using var api = hyperion.CreateApiClient();
        var prep = await RegisterAsync(api, "scale_pixels", "prep");
        var digits = await DeploymentTestSupport.RegisterDigitsAsync(api, "digits", versions: 1);
        // The request the README and docs/pipelines.md send: the sample's images in 0..1.
        var images = File.ReadAllText(TestPaths.Sample("digits", "images.json"));
        await DeployAsync(hyperion, prep, """{"stable": 1}""", images);
        await DeployAsync(hyperion, digits, """{"stable": 1}""", DeploymentTestSupport.DigitsRequest);
        var pipeline = RegistryTestData.UniqueName("digits-flow");
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "scale", "model": "{{{prep}}}"}, {"name": "clf", "model": "{{{digits}}}", "inputs": {"pixels": "scale.pixels"}}],
             "outputs": {"label": "clf.label"}}
            """, HttpStatusCode.Created);

        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferRoutedAsync(gateway, pipeline, () => Json(images));
        var answer = await GatewayTestApi.JsonAsync(response);
        Assert.Equal("label", answer.GetProperty("outputs").EnumerateArray().Single().GetProperty("name").GetString());
        Assert.Equal(DeploymentTestSupport.ExpectedDigitLabels.Select(label => (double)label), Output(answer, "label"));
    }

    [Fact]
    public async Task A_pipeline_answers_gRPC_ModelInfer_calls_to_pipelines_slash_its_name()
    {
        var model = await DeployedIdentityAsync("""{"stable": 1}""");
        using var api = hyperion.CreateApiClient();
        var pipeline = RegistryTestData.UniqueName("grpc-flow");
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "neg", "model": "{{{model}}}"}, {"name": "back", "model": "{{{model}}}", "inputs": {"INPUT0": "neg.OUTPUT0"}}],
             "outputs": {"restored": "back.OUTPUT0", "negated": "neg.OUTPUT0"}}
            """, HttpStatusCode.Created);
        using (var routed = await InferRoutedAsync(hyperion.CreateGatewayClient(), pipeline, () => Json(Request)))
        {
            Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        }

        using var channel = GrpcChannel.ForAddress(hyperion.GetEndpoint("gateway", "grpc"));
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var admin = new Grpc.Core.Metadata { { "authorization", "Bearer " + hyperion.AdminKey } };
        ModelInferRequest Call(string name)
        {
            var request = new ModelInferRequest { ModelName = name, Id = "grpc-call" };
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 1, 4 } });
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([1, 2, 3, 4])));
            return request;
        }

        using var call = client.ModelInferAsync(Call($"pipelines/{pipeline}"), admin);
        var answer = await call;
        Assert.Equal(pipeline, answer.ModelName);
        Assert.Equal("1", answer.ModelVersion);
        Assert.Equal("grpc-call", answer.Id);
        Assert.Equal(["restored", "negated"], answer.Outputs.Select(output => output.Name));
        Assert.Equal([1f, 2, 3, 4], MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[0].Span).ToArray());
        Assert.Equal([-1f, -2, -3, -4], MemoryMarshal.Cast<byte, float>(answer.RawOutputContents[1].Span).ToArray());
        Assert.Equal("neg=1, back=1", (await call.ResponseHeadersAsync).GetValue("x-hyperion-step-versions"));

        // Mistakes and refusals come back as gRPC statuses with the same messages as over REST.
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Call("pipelines/no-such-pipeline"), admin));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.StartsWith("pipeline 'no-such-pipeline' does not exist", unknown.Status.Detail, StringComparison.Ordinal);
        var lacking = Call($"pipelines/{pipeline}");
        lacking.Inputs[0].Name = "OTHER";
        var invalid = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(lacking, admin));
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal($"pipeline '{pipeline}' reads the request inputs 'INPUT0'; the request lacks 'INPUT0'", invalid.Status.Detail);
        var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Call($"pipelines/{pipeline}")));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
    }

    [Fact]
    public async Task Bad_calls_are_answered_in_OIP_form_naming_what_is_wrong()
    {
        var model = await DeployedIdentityAsync("""{"stable": 1}""");
        using var api = hyperion.CreateApiClient();
        var pipeline = RegistryTestData.UniqueName("strict");
        await PutOkAsync(api, pipeline, $$$"""{"steps": [{"name": "neg", "model": "{{{model}}}"}]}""", HttpStatusCode.Created);
        using var gateway = hyperion.CreateGatewayClient();
        using (var ok = await InferRoutedAsync(gateway, pipeline, () => Json(Request)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var unknown = await gateway.PostAsync("/v2/pipelines/no-such-pipeline/infer", Json(Request));
        Assert.Contains("pipeline 'no-such-pipeline' does not exist", await GatewayTestApi.AssertOipErrorAsync(unknown, HttpStatusCode.NotFound));
        using var lacking = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json("""{"inputs": [{"name": "other", "shape": [1], "datatype": "FP32", "data": [1]}]}"""));
        Assert.Contains("the request lacks 'INPUT0'", await GatewayTestApi.AssertOipErrorAsync(lacking, HttpStatusCode.BadRequest));
        using var garbled = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json("""{"inputs": 5}"""));
        await GatewayTestApi.AssertOipErrorAsync(garbled, HttpStatusCode.BadRequest);
        using var noSuchOutput = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(
            """{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "nope"}]}"""));
        Assert.Contains("has no output 'nope'; its outputs are 'OUTPUT0'", await GatewayTestApi.AssertOipErrorAsync(noSuchOutput, HttpStatusCode.BadRequest));
        // The replica's refusal of a step's input comes back with its status, naming the step.
        using var wrongShape = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json("""{"inputs": [{"name": "INPUT0", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}"""));
        Assert.StartsWith($"step 'neg' (model '{model}' version 1): ", await GatewayTestApi.AssertOipErrorAsync(wrongShape, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_caller_needs_infer_or_infer_scopes_for_every_step_model_and_its_rate_limit_counts_one_call_per_pipeline_call()
    {
        var first = await DeployedIdentityAsync("""{"stable": 1}""");
        var second = await DeployedIdentityAsync("""{"stable": 1}""");
        using var api = hyperion.CreateApiClient();
        var pipeline = RegistryTestData.UniqueName("scoped");
        await PutOkAsync(api, pipeline, $$$"""{"steps": [{"name": "a", "model": "{{{first}}}"}, {"name": "b", "model": "{{{second}}}", "inputs": {"INPUT0": "a.OUTPUT0"}}]}""", HttpStatusCode.Created);
        using (var admin = hyperion.CreateGatewayClient())
        using (var ok = await InferRoutedAsync(admin, pipeline, () => Json(Request)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var partial = hyperion.CreateGatewayClient(await KeyAsync(api, [$"infer:{first}"]));
        using var refused = await partial.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request));
        var message = await GatewayTestApi.AssertOipErrorAsync(refused, HttpStatusCode.Forbidden);
        Assert.Contains($"missing 'infer:{second}'", message);
        Assert.DoesNotContain($"'infer:{first}'", message[message.IndexOf("missing", StringComparison.Ordinal)..]);

        using var both = hyperion.CreateGatewayClient(await KeyAsync(api, [$"infer:{first}", $"infer:{second}"]));
        using (var allowed = await both.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request)))
        {
            Assert.Equal(new double[] { 1.0, 2, 3, 4 }, Output(await GatewayTestApi.JsonAsync(allowed), "OUTPUT0"));
        }

        using var anonymous = hyperion.CreateHttpClient("gateway");
        using (var unauthenticated = await anonymous.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        }

        // A burst of 2 and a slow refill: the third pipeline call is refused, however many steps each one runs.
        using var limited = hyperion.CreateGatewayClient(await hyperion.CreateKeyWithPlanAsync(requestsPerSecond: 0.01, burst: 2));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await limited.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter is not null);
            }
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task A_step_follows_its_models_canary_shadow_and_cache_and_a_pinned_step_goes_to_its_version()
    {
        // Version 2 takes every unpinned request (canary 100 %), version 3 gets a shadow copy of stable's; the cache is on.
        var model = await DeployedIdentityAsync("""{"stable": 1, "canary": {"version": 2, "percent": 100}, "cache": {"enabled": true, "ttl_seconds": 300}}""", versions: 3);
        var shadowed = await DeployedIdentityAsync("""{"stable": 1, "shadow": {"version": 2, "percent": 100}}""", versions: 2);
        using var api = hyperion.CreateApiClient();
        var pipeline = RegistryTestData.UniqueName("routed");
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "follows", "model": "{{{model}}}"},
                       {"name": "pinned", "model": "{{{model}}}", "version": 1, "inputs": {"INPUT0": "follows.OUTPUT0"}},
                       {"name": "shadowed", "model": "{{{shadowed}}}", "inputs": {"INPUT0": "pinned.OUTPUT0"}}]}
            """, HttpStatusCode.Created);

        using var gateway = hyperion.CreateGatewayClient();
        for (var i = 0; i < 3; i++)
        {
            using var response = await InferRoutedAsync(gateway, pipeline, () => Json(Request));
            Assert.Equal(new double[] { -1.0, -2, -3, -4 }, Output(await GatewayTestApi.JsonAsync(response), "OUTPUT0"));
            Assert.Equal("follows=2, pinned=1, shadowed=1", Header(response, "X-Hyperion-Step-Versions"));
        }

        var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var database = redis.GetDatabase();
        // The canary's statistics count the pipeline's traffic (the first call; the cache answered the others), as
        // the shadow's count the copies of the stable step.
        await GatewayTestApi.WaitUntilAsync(async () =>
            (long)await database.HashGetAsync(ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Canary), ArmStatisticsKeys.Requests) >= 1
            && (long)await database.HashGetAsync(ArmStatisticsKeys.For(shadowed, 2, ArmStatisticsKeys.Shadow), ArmStatisticsKeys.Requests) >= 3,
            TimeSpan.FromSeconds(30), "the canary and shadow arms counting pipeline steps");
        var cached = redis.GetServers().Single().KeysAsync(pattern: $"hyperion:cache:{model}:2:*");
        Assert.True(await cached.AnyAsync(), "the canary step's answer is in the deployment's response cache");
        Assert.True((long)await database.HashGetAsync(ArmStatisticsKeys.For(model, 2, ArmStatisticsKeys.Canary), ArmStatisticsKeys.Requests) < 3,
            "calls after the first were answered from the cache and not counted for the arm");
    }

    [Fact]
    public async Task Steps_whose_sources_are_ready_run_at_the_same_time()
    {
        // The batcher holds each request 1.5 s waiting for a batch: two steps one after the other take 3 s at least.
        var slow = await DeployedIdentityAsync("""{"stable": 1}""");
        using var api = hyperion.CreateApiClient();
        await DeploymentTestSupport.PutOkAsync(api, slow,
            """{"stable": 1, "max_batch_size": 64, "batching": {"max_queue_delay_microseconds": 1500000, "preferred_batch_size": [64]}}""");
        var pipeline = RegistryTestData.UniqueName("fanout");
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "left", "model": "{{{slow}}}"}, {"name": "right", "model": "{{{slow}}}"}],
             "outputs": {"l": "left.OUTPUT0", "r": "right.OUTPUT0"}}
            """, HttpStatusCode.Created);
        using var gateway = hyperion.CreateGatewayClient();
        // Until the replicas hold the slow batching, calls come back quickly; measure once they do.
        var elapsed = TimeSpan.Zero;
        await GatewayTestApi.WaitUntilAsync(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await InferRoutedAsync(gateway, pipeline, () => Json(Request));
            elapsed = Stopwatch.GetElapsedTime(started);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return elapsed > TimeSpan.FromSeconds(1.2);
        }, TimeSpan.FromMinutes(2), "the replicas holding the slow batching");
        Assert.True(elapsed < TimeSpan.FromSeconds(2.9), $"two independent 1.5 s steps took {elapsed.TotalSeconds:0.00} s: they ran one after the other");

        // A step given less time than the replica takes is answered 504, naming the step and its timeout.
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "left", "model": "{{{slow}}}", "timeout_ms": 300}, {"name": "right", "model": "{{{slow}}}"}],
             "outputs": {"l": "left.OUTPUT0", "r": "right.OUTPUT0"}}
            """, HttpStatusCode.OK);
        await GatewayTestApi.WaitUntilAsync(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request));
            if (Header(response, "X-Hyperion-Pipeline-Revision") == "1")
            {
                return false; // the gateway has not heard of revision 2 yet
            }
            var message = await GatewayTestApi.AssertOipErrorAsync(response, HttpStatusCode.GatewayTimeout);
            Assert.Equal($"step 'left' (model '{slow}' version 1): the replica did not answer within 300 ms (the step's timeout_ms)", message);
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1.2), "the call waits for the step's timeout, not for the slow step");
            return true;
        }, TimeSpan.FromSeconds(30), "the gateway running revision 2");

        // With a fallback, the step that timed out is answered for by it: the call succeeds with the fallback's outputs.
        var fast = await DeployedIdentityAsync("""{"stable": 1}""");
        await PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "left", "model": "{{{slow}}}", "timeout_ms": 300}, {"name": "backup", "model": "{{{fast}}}", "fallback_for": "left"}],
             "outputs": {"l": "left.OUTPUT0"}}
            """, HttpStatusCode.OK);
        await GatewayTestApi.WaitUntilAsync(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await gateway.PostAsync($"/v2/pipelines/{pipeline}/infer", Json(Request));
            if (response.StatusCode != HttpStatusCode.OK || Header(response, "X-Hyperion-Pipeline-Revision") != "3")
            {
                return false; // the gateway has not heard of revision 3 yet
            }
            Assert.Equal(new double[] { -1, -2, -3, -4 }, Output(await GatewayTestApi.JsonAsync(response), "l"));
            Assert.Equal("backup=1", Header(response, "X-Hyperion-Step-Versions"));
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1.2), "the fallback answers once the step's timeout is up");
            return true;
        }, TimeSpan.FromSeconds(30), "the gateway running revision 3");
    }

    private async Task<string> DeployedIdentityAsync(string deployment, int versions = 1)
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "identity_fp32", "pipe-run", versions);
        await DeployAsync(hyperion, model, deployment, Request);
        return model;
    }

    private static async Task<string> KeyAsync(HttpClient api, string[] scopes)
    {
        using var created = await api.PostAsJsonAsync("/api/v1/keys", new { name = $"pipeline-{Guid.NewGuid():N}", scopes });
        return (await created.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }
}
