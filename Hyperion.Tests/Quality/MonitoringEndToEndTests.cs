using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Rollouts;

namespace Hyperion.Tests.Quality;

/// <summary>
/// The whole loop as a model team meets it: live traffic through the gateway is captured, shifted inputs are flagged
/// against the version's baseline, and labels sent later by the request ids the gateway answered with give the
/// accuracy that was really served.
/// </summary>
[Collection(RolloutAppCollection.Name)]
public sealed class MonitoringEndToEndTests(RolloutAppFixture hyperion)
{
    private const int Requests = 60;

    [Fact]
    public async Task Shifted_live_traffic_is_captured_flagged_and_labelled_feedback_gives_the_served_accuracy()
    {
        using var api = hyperion.CreateApiClient();
        using var gateway = hyperion.CreateApiClient("gateway");
        var model = RegistryTestData.UniqueName("monitored");
        await RegistryTestData.CreateModelAsync(api, model);
        await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits, lineage: RegistryTestData.Lineage, baselineProfile: RegistryTestData.BaselineProfile);
        await DeploymentTestSupport.PutOkAsync(api, model,
            """{"stable": 1, "monitoring": {"sample_percent": 100, "prediction_output": "label", "drift": {"min_rows": 50}}}""");
        await DeploymentTestSupport.WaitForAsync(api, model, status => DeploymentTestSupport.IsReadyOn(status, 1, hyperion.InferenceReplicas), "version 1 ready");

        // Every pixel 8 brighter than the training data, one row a request, as a client would send them (FP32, so the
        // values are rounded to float here too, and the bins they fall in are the ones the orchestrator sees).
        var rows = CaptureRows.FromBaseline(Requests, seed: 2026).Select(row => row.Select(v => (double)(float)(v + 8)).ToArray()).ToArray();
        var served = new List<(string RequestId, long Label)>();
        foreach (var row in rows)
        {
            served.Add(await InferAsync(gateway, model, row));
        }

        await DeploymentTestSupport.WaitUntilAsync(
            async () => (await GetOkAsync(api, $"/api/v1/models/{model}/captures?limit={Requests}"))["captures"]!.AsArray().Count,
            count => count == Requests, $"all {Requests} requests captured");

        var drift = await RunDriftAsync(api, model);
        Assert.True(drift["drifted"]!.GetValue<bool>(), drift.ToJsonString());
        Assert.Equal(Requests, drift["rows"]!.GetValue<long>());
        var byName = drift["features"]!.AsArray().ToDictionary(feature => feature!["name"]!.GetValue<string>(), feature => feature!["psi"]!.GetValue<double>());
        for (var f = 0; f < CaptureRows.Features.Count; f++)
        {
            Assert.Equal(CaptureRows.Psi(rows, f), byName[CaptureRows.Features[f].Name], 9);
        }

        // Labels hours later, by the X-Request-Id each answer carried: the served label for two thirds, another for the rest.
        var items = new JsonArray();
        for (var i = 0; i < served.Count; i++)
        {
            items.Add(new JsonObject { ["request_id"] = served[i].RequestId, ["label"] = i % 3 == 2 ? (served[i].Label + 1) % 10 : served[i].Label });
        }
        using var feedback = await api.PostAsync("/api/v1/feedback",
            new StringContent(new JsonObject { ["model"] = model, ["items"] = items }.ToJsonString(), Encoding.UTF8, "application/json"));
        var answer = JsonNode.Parse(await feedback.Content.ReadAsStringAsync())!;
        Assert.True(feedback.StatusCode == HttpStatusCode.OK, answer.ToJsonString());
        Assert.Equal((Requests, 0L), (answer["accepted"]!.GetValue<int>(), answer["unmatched"]!.GetValue<long>()));

        var quality = await GetOkAsync(api, $"/api/v1/models/{model}/quality?version=1");
        Assert.Equal(Requests, quality["count"]!.GetValue<long>());
        Assert.Equal(2.0 / 3, quality["metrics"]!["accuracy"]!.GetValue<double>(), 9);
    }

    private static async Task<(string RequestId, long Label)> InferAsync(HttpClient gateway, string model, double[] row)
    {
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "pixels",
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(1, 64),
                ["data"] = new JsonArray([.. row.Select(value => (JsonNode)(float)value)]),
            }),
        };
        // Answers the gateway gives before it routes the model (503) are not captured.
        using var response = await DeploymentTestSupport.PostRoutedAsync(gateway, $"/v2/models/{model}/infer", () => new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var label = JsonNode.Parse(text)!["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]![0]!.GetValue<long>();
        return (response.Headers.GetValues("X-Request-Id").Single(), label);
    }

    private static async Task<JsonObject> RunDriftAsync(HttpClient api, string model)
    {
        using var response = await api.PostAsync($"/api/v1/models/{model}/drift/run", content: null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST drift/run: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    private static async Task<JsonObject> GetOkAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }
}
