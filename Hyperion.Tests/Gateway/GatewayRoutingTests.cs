using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using Hyperion.Inference.Protocol.Grpc.V2;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>Routes through the gateway: OIP REST, V1, gRPC and the control plane; request ids; its own health and metrics.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayRoutingTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Inference_is_routed_to_the_stable_version_and_says_which_version_answered()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();

        using var response = await InferAsync(gateway, model);
        var body = await JsonAsync(response);
        Assert.Equal("1", VersionOf(response));
        Assert.Equal("1", body.GetProperty("model_version").GetString());
        Assert.Equal([-1f, -2f, -3f, -4f], body.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));

        // Metadata is routed to the same version; the path named no version, the gateway pinned it.
        using var metadata = await gateway.GetAsync($"/v2/models/{model}");
        Assert.Equal("1", VersionOf(metadata));
        Assert.Equal(["1"], (await JsonAsync(metadata)).GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        using var ready = await gateway.GetAsync($"/v2/models/{model}/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task KServe_V1_predict_and_the_binary_extension_go_through()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();

        using var v1 = await InferAsync(gateway, model, $"/v1/models/{model}:predict", """{"instances": [[1, 2, 3, 4]]}""");
        Assert.Equal("1", VersionOf(v1));
        Assert.Equal([-1f, -2f, -3f, -4f], (await JsonAsync(v1)).GetProperty("predictions")[0].EnumerateArray().Select(v => v.GetSingle()));

        var header = """{"inputs":[{"name":"INPUT0","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}"""u8.ToArray();
        var body = new byte[header.Length + 16];
        header.CopyTo(body, 0);
        MemoryMarshalFloats([5, 6, 7, 8]).CopyTo(body, header.Length);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{model}/infer") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var binary = await gateway.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        var jsonLength = int.Parse(binary.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var answer = await binary.Content.ReadAsByteArrayAsync();
        Assert.Equal([-5f, -6f, -7f, -8f], Floats(answer.AsSpan(jsonLength)));
    }

    [Fact]
    public async Task Request_bodies_of_every_size_reach_the_replica_whole_small_ones_sent_with_their_headers_in_one_write()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();
        var limit = Hyperion.Gateway.Forwarding.OneWriteRequestHandler.MaxBodyBytes;

        // Around the one-write limit and far above it; the padding is whitespace, the id comes back in the answer.
        foreach (var size in new[] { 200, limit - 1, limit, limit + 1, 40_000 })
        {
            var id = $"size-{size}";
            var json = $$"""{"id":"{{id}}","inputs":[{"name":"INPUT0","shape":[1,4],"datatype":"FP32","data":[1,2,3,{{size % 7}}]}]}""";
            var body = string.Concat(json.AsSpan(0, json.Length - 1), new string(' ', size - json.Length), "}");
            Assert.Equal(size, System.Text.Encoding.UTF8.GetByteCount(body));

            using var response = await InferAsync(gateway, model, body: body);
            var answer = await JsonAsync(response);
            Assert.Equal(id, answer.GetProperty("id").GetString());
            Assert.Equal([-1f, -2f, -3f, -(size % 7)], answer.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        }

        // A body without Content-Length (chunked) is streamed as before.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{model}/infer")
        {
            Content = new StreamContent(new UnknownLengthStream(IdentityRequest)),
        };
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var streamed = await gateway.SendAsync(chunked);
        Assert.Null(chunked.Content.Headers.ContentLength);
        Assert.Equal([-1f, -2f, -3f, -4f], (await JsonAsync(streamed)).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
    }

    [Fact]
    public async Task gRPC_ModelInfer_goes_through_with_the_key_in_metadata()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var channel = GrpcChannel.ForAddress(hyperion.GetEndpoint("gateway", "grpc"));
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32", Shape = { 1, 4 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshalFloats([1, 2, 3, 4])));
        var headers = new Grpc.Core.Metadata { { "authorization", "Bearer " + hyperion.AdminKey } };

        var response = await client.ModelInferAsync(request, headers);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal([-1f, -2f, -3f, -4f], Floats(response.RawOutputContents[0].Span));

        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await client.ModelInferAsync(request));
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live); // health is anonymous in this graph
    }

    [Fact]
    public async Task Request_id_is_echoed_when_sent_and_generated_when_not()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();
        using var sent = await InferAsync(gateway, model, configure: request => request.Headers.Add("X-Request-Id", "my-request-42"));
        Assert.Equal("my-request-42", sent.Headers.GetValues("X-Request-Id").Single());

        using var generated = await InferAsync(gateway, model);
        var id = generated.Headers.GetValues("X-Request-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", id);
        using var refused = await InferAsync(hyperion.CreateGatewayClient(key: "hyp_nonsense"), model);
        Assert.Single(refused.Headers.GetValues("X-Request-Id"));
    }

    [Fact]
    public async Task Control_plane_calls_are_forwarded_with_the_callers_credential_and_internal_routes_are_not()
    {
        using var admin = hyperion.CreateGatewayClient();
        using var whoami = await admin.GetAsync("/api/v1/whoami");
        Assert.Equal("bootstrap-admin", (await JsonAsync(whoami)).GetProperty("name").GetString());

        using var anonymous = hyperion.CreateHttpClient("gateway");
        using var refused = await anonymous.GetAsync("/api/v1/whoami");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        using var routing = await admin.GetAsync("/internal/v1/routing");
        Assert.Equal(HttpStatusCode.NotFound, routing.StatusCode);
        using var lookup = await admin.PostAsync("/internal/v1/keys/lookup", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task The_gateway_answers_its_own_health_liveness_and_metrics()
    {
        using var gateway = hyperion.CreateHttpClient("gateway");
        using var health = await gateway.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.GetAsync("/alive")).StatusCode);

        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using (await InferAsync(hyperion.CreateGatewayClient(), model))
        {
        }
        var metrics = await gateway.GetStringAsync("/metrics");
        Assert.Contains("hyperion_gateway_arm_requests_total", metrics);
        Assert.Contains($"model=\"{model}\"", metrics);
        Assert.Contains("hyperion_gateway_auth_total", metrics);
        // The forwarding client's own metrics are off by default (Gateway:ForwarderClientMetrics); the control-plane client's are kept.
        var replicaPort = $"server_port=\"{hyperion.GetEndpoint("inference", "http").Port}\"";
        Assert.DoesNotContain(metrics.Split('\n'), line => line.StartsWith("http_client_request_duration", StringComparison.Ordinal) && line.Contains(replicaPort, StringComparison.Ordinal));
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("http_client_request_duration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_without_a_deployment_is_forwarded_and_the_replica_says_it_is_unknown()
    {
        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferAsync(gateway, "no-such-model");
        var error = await AssertOipErrorAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("no-such-model", error);
        Assert.False(response.Headers.Contains(VersionHeader));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_before_it_is_forwarded()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""));
        using var gateway = hyperion.CreateGatewayClient();
        // As curl does for large bodies: the client waits for "100 Continue" before sending the body, so the gateway's
        // 413 (answered from Content-Length, before any body is read) reaches it instead of racing its upload.
        using var response = await InferAsync(gateway, model, body: new string(' ', GatewayFixture.MaxRequestBodyBytes + 1),
            configure: request => request.Headers.ExpectContinue = true);
        var error = await AssertOipErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("Gateway:MaxRequestBodyBytes", error);
    }

    internal static byte[] MemoryMarshalFloats(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    internal static float[] Floats(ReadOnlySpan<byte> bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    internal static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>A body whose length HttpClient cannot know, so it is sent chunked.</summary>
    private sealed class UnknownLengthStream(string text) : MemoryStream(System.Text.Encoding.UTF8.GetBytes(text))
    {
        public override bool CanSeek => false;
    }
}
