using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Graph;
using StackExchange.Redis;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.Capture;

/// <summary>
/// Live traffic captured through the real graph: gateway → Redis stream → orchestrator → PostgreSQL, read back with
/// <c>GET /api/v1/models/{m}/captures</c>.
/// </summary>
[Collection(HyperionAppCollection.Name)]
public sealed class CaptureGraphTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Sampled_requests_are_stored_under_the_request_id_the_gateway_answered_with_and_their_version_and_arm()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "capture", versions: 1);
        var created = await PutOkAsync(api, model, """{"stable": 1, "monitoring": {"sample_percent": 100, "capture_payloads": true}}""");
        var monitoring = created["monitoring"]!;
        Assert.Equal(100, monitoring["sample_percent"]!.GetValue<double>());
        Assert.True(monitoring["capture_payloads"]!.GetValue<bool>());
        Assert.Equal(7, monitoring["retention_days"]!.GetValue<int>());
        Assert.Empty(monitoring["redact"]!.AsArray());
        Assert.Equal(0.2, monitoring["drift"]!["psi_threshold"]!.GetValue<double>());
        await DeployedAndRoutedAsync(api, model, 1);
        Assert.Equal(100, RouteOf(await RoutingAsync(hyperion), model)!["capture_percent"]!.GetValue<double>());

        using var gateway = hyperion.CreateApiClient("gateway");
        var chosenId = "capture-" + Guid.NewGuid().ToString("N");
        var (echoed, _) = await InferAsync(gateway, model, requestId: chosenId, oipId: "oip-" + chosenId);
        Assert.Equal(chosenId, echoed);
        var (generated, _) = await InferAsync(gateway, model);

        var captures = await CapturesAsync(api, model, [chosenId, generated]);
        var first = captures[chosenId];
        Assert.Equal(1, first["version"]!.GetValue<long>());
        Assert.Equal("stable", first["arm"]!.GetValue<string>());
        Assert.Equal("oip-" + chosenId, first["oip_id"]!.GetValue<string>());
        Assert.Null(captures[generated]["oip_id"]);

        var sent = JsonNode.Parse(DigitsRequest)!["inputs"]![0]!;
        var pixels = first["inputs"]!["pixels"]!;
        Assert.Equal("FP32", pixels["datatype"]!.GetValue<string>());
        Assert.Equal([2, 64], pixels["shape"]!.AsArray().Select(d => d!.GetValue<int>()));
        Assert.Equal(sent["data"]!.AsArray().Select(v => v!.GetValue<double>()), pixels["data"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal(2, first["rows"]!.GetValue<int>());
        Assert.Equal(ExpectedDigitLabels, first["outputs"]!["label"]!["data"]!.AsArray().Select(v => v!.GetValue<long>()));
        Assert.Equal(20, first["outputs"]!["probabilities"]!["data"]!.AsArray().Count);
        Assert.Equal("oip-" + chosenId, first["payload"]!["request"]!["id"]!.GetValue<string>());
        Assert.Equal(model, first["payload"]!["response"]!["model_name"]!.GetValue<string>());

        using var orchestrator = hyperion.CreateHttpClient("orchestrator");
        Assert.Matches("hyperion_orchestrator_captures_total\\{[^}]*outcome=\"stored\"", await orchestrator.GetStringAsync("/metrics"));
        using var gatewayMetrics = hyperion.CreateHttpClient("gateway");
        Assert.Matches("hyperion_gateway_captures_total\\{[^}]*outcome=\"written\"", await gatewayMetrics.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Canary_and_shadow_answers_are_captured_under_their_arm_and_version()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "capture-arms", versions: 2);
        await PutOkAsync(api, model, """{"stable": 1, "shadow": {"version": 2, "percent": 100}, "monitoring": {"sample_percent": 100}}""");
        await DeployedAndRoutedAsync(api, model, 1);
        await WaitUntilAsync(async () => RouteOf(await RoutingAsync(hyperion), model)?["shadow"], shadow => shadow is not null, "the shadow in the routing table");

        using var gateway = hyperion.CreateApiClient("gateway");
        // The gateway may still route by a table without the shadow: send requests until one of them is captured for
        // both arms (captures arrive asynchronously, so every request sent so far counts).
        var sent = new HashSet<string>(StringComparer.Ordinal);
        var shadowed = await WaitUntilAsync(async () =>
        {
            sent.Add((await InferAsync(gateway, model)).RequestId);
            var rows = await ListAsync(api, model, "?limit=1000");
            return rows.Where(row => sent.Contains(row["request_id"]!.GetValue<string>()))
                .GroupBy(row => row["request_id"]!.GetValue<string>())
                .FirstOrDefault(request => request.Count() == 2)?.ToList() ?? [];
        }, rows => rows.Count == 2, "a request captured for stable and for the shadow");
        Assert.Equal([("shadow", 2L), ("stable", 1L)], shadowed
            .Select(row => (row["arm"]!.GetValue<string>(), row["version"]!.GetValue<long>())).Order());
        // Captured as sent: the shadow was asked the same request.
        Assert.Equal(shadowed[0]["inputs"]!.ToJsonString(), shadowed[1]["inputs"]!.ToJsonString());

        await PutOkAsync(api, model, """{"stable": 1, "canary": {"version": 2, "percent": 100}, "monitoring": {"sample_percent": 100}}""");
        var canaryId = await WaitUntilAsync(async () =>
        {
            var (id, version) = await InferAsync(gateway, model);
            return version == "2" ? id : null;
        }, id => id is not null, "the canary taking the traffic");
        var canary = (await CapturesAsync(api, model, [canaryId!]))[canaryId!];
        Assert.Equal("canary", canary["arm"]!.GetValue<string>());
        Assert.Equal(2, canary["version"]!.GetValue<long>());
        Assert.Single(await ListAsync(api, model, "?version=2&limit=1"));
    }

    [Fact]
    public async Task Redaction_payloads_off_and_sample_percent_zero_are_honoured_and_a_malformed_entry_blocks_nothing()
    {
        using var api = hyperion.CreateApiClient();
        var quiet = await RegisterDigitsAsync(api, "capture-zero", versions: 1);
        var redacted = await RegisterDigitsAsync(api, "capture-redact", versions: 1);
        await PutOkAsync(api, quiet, """{"stable": 1, "monitoring": {"sample_percent": 0}}""");
        await PutOkAsync(api, redacted, """{"stable": 1, "monitoring": {"sample_percent": 100, "redact": ["probabilities"]}}""");
        await DeployedAndRoutedAsync(api, quiet, 1);
        await DeployedAndRoutedAsync(api, redacted, 1);

        using var gateway = hyperion.CreateApiClient("gateway");
        for (var i = 0; i < 5; i++)
        {
            await InferAsync(gateway, quiet);
        }
        // Entries no gateway would write: they are counted and acknowledged, and what follows them is stored.
        using (var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache")))
        {
            var database = redis.GetDatabase();
            await database.StreamAddAsync(CaptureStream.Key, [new("junk", "x")]);
            await database.StreamAddAsync(CaptureStream.Key, [
                new(CaptureStream.Model, redacted), new(CaptureStream.Version, "1"), new(CaptureStream.Arm, "stable"),
                new(CaptureStream.RequestId, "malformed-" + Guid.NewGuid().ToString("N")), new(CaptureStream.CapturedAt, "1"),
                new(CaptureStream.Request, "not json"), new(CaptureStream.Response, "{}")]);
            // Valid JSON that PostgreSQL's jsonb refuses (a NUL character): counted as malformed, not retried forever.
            await database.StreamAddAsync(CaptureStream.Key, [
                new(CaptureStream.Model, redacted), new(CaptureStream.Version, "1"), new(CaptureStream.Arm, "stable"),
                new(CaptureStream.RequestId, "malformed-nul-" + Guid.NewGuid().ToString("N")), new(CaptureStream.CapturedAt, "1"),
                new(CaptureStream.Request, """{"inputs": [{"name": "pixels", "datatype": "BYTES", "shape": [1], "data": ["a\u0000b"]}]}"""),
                new(CaptureStream.Response, """{"outputs": [{"name": "label", "datatype": "INT64", "shape": [1], "data": [1]}]}""")]);
        }
        // Written after the requests to the quiet model by the same gateway: once it is stored, they would have been.
        var (id, _) = await InferAsync(gateway, redacted);

        var capture = (await CapturesAsync(api, redacted, [id]))[id];
        Assert.Equal(["label"], capture["outputs"]!.AsObject().Select(output => output.Key));
        Assert.Equal(["pixels"], capture["inputs"]!.AsObject().Select(input => input.Key));
        Assert.False(capture.AsObject().ContainsKey("payload"));
        Assert.DoesNotContain(await ListAsync(api, redacted, ""), row => row["request_id"]!.GetValue<string>().StartsWith("malformed-", StringComparison.Ordinal));
        Assert.Empty(await ListAsync(api, quiet, ""));

        using var orchestrator = hyperion.CreateHttpClient("orchestrator");
        Assert.Matches("hyperion_orchestrator_captures_total\\{[^}]*outcome=\"malformed\"[^}]*\\} [1-9]", await orchestrator.GetStringAsync("/metrics"));
    }

    [Theory]
    [InlineData("?limit=0", "limit", "limit must be a whole number from 1 to 1000 (default 50), got '0'")]
    [InlineData("?version=x", "version", "version must be a positive whole number (a version of the model), got 'x'")]
    public async Task Bad_capture_queries_are_400_naming_the_parameter(string query, string field, string message)
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "capture-query", versions: 1);
        using var response = await api.GetAsync($"/api/v1/models/{model}/captures{query}");
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(message, problem.GetProperty("errors").GetProperty(field)[0].GetString());
    }

    [Fact]
    public async Task Captures_of_an_unknown_model_are_404_and_need_the_deploy_scope()
    {
        using var api = hyperion.CreateApiClient();
        using (var missing = await api.GetAsync("/api/v1/models/no-such-model-anywhere/captures"))
        {
            var problem = await RegistryTestData.ProblemAsync(missing, HttpStatusCode.NotFound);
            Assert.Contains("no model named 'no-such-model-anywhere'", problem.GetProperty("detail").GetString());
        }
        var key = await hyperion.CreateKeyAsync(["infer"]);
        using var inferOnly = hyperion.CreateApiClient(key: key.Key);
        using var forbidden = await inferOnly.GetAsync("/api/v1/models/no-such-model-anywhere/captures");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    private async Task DeployedAndRoutedAsync(HttpClient api, string model, long stable)
    {
        await WaitForAsync(api, model, status => IsReadyOn(status, stable, hyperion.InferenceReplicas), $"version {stable} of {model} ready");
        using var gateway = hyperion.CreateApiClient("gateway");
        await WaitUntilAsync(async () =>
        {
            using var response = await gateway.PostAsync($"/v2/models/{model}/infer", new StringContent(DigitsRequest, Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }, status => status == HttpStatusCode.OK, $"the gateway routing {model}");
    }

    /// <summary>One digits request through the gateway; returns the request id it answered with and the version that answered.</summary>
    private static async Task<(string RequestId, string? Version)> InferAsync(HttpClient gateway, string model, string? requestId = null, string? oipId = null)
    {
        var body = JsonNode.Parse(DigitsRequest)!.AsObject();
        if (oipId is not null)
        {
            body["id"] = oipId;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{model}/infer")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (requestId is not null)
        {
            request.Headers.Add("X-Request-Id", requestId);
        }
        using var response = await gateway.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"infer {model}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (response.Headers.GetValues("X-Request-Id").Single(),
            response.Headers.TryGetValues("X-Hyperion-Model-Version", out var versions) ? versions.Single() : null);
    }

    private static async Task<List<JsonObject>> ListAsync(HttpClient api, string model, string query)
    {
        using var response = await api.GetAsync($"/api/v1/models/{model}/captures{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET captures: {(int)response.StatusCode} {text}");
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(model, body["model"]!.GetValue<string>());
        return [.. body["captures"]!.AsArray().Select(capture => capture!.AsObject())];
    }

    /// <summary>Waits until a stable capture of each request id is stored (ingestion is asynchronous); returns them by id.</summary>
    private static async Task<Dictionary<string, JsonObject>> CapturesAsync(HttpClient api, string model, string[] requestIds)
    {
        var rows = await WaitUntilAsync(() => ListAsync(api, model, "?limit=1000"),
            rows => requestIds.All(id => rows.Any(row => row["request_id"]!.GetValue<string>() == id)),
            $"captures of {string.Join(", ", requestIds)}");
        return rows.Where(row => requestIds.Contains(row["request_id"]!.GetValue<string>()) && row["arm"]!.GetValue<string>() != "shadow")
            .ToDictionary(row => row["request_id"]!.GetValue<string>());
    }
}
