using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Rollouts;
using Npgsql;

namespace Hyperion.Tests.Quality;

/// <summary>
/// Drift, feedback and quality on the real graph: captures are written into its PostgreSQL as the capture ingestor
/// writes them, and the orchestrator's answers, gauges, webhooks and audit entries are checked against computations
/// made here.
/// </summary>
[Collection(RolloutAppCollection.Name)]
public sealed class QualityGraphTests(RolloutAppFixture hyperion)
{
    private HyperionAppFixturePostgres Postgres => new(hyperion.GetConnectionString("hyperion"));

    /// <summary>Names the prediction output, and a window and row minimum that the inserted captures fill.</summary>
    private const string Monitored = """{"stable": 1, "monitoring": {"sample_percent": 0, "prediction_output": "label", "drift": {"min_rows": 100, "window_minutes": 60}}}""";

    [Fact]
    public async Task Traffic_drawn_from_the_baseline_is_not_flagged_and_each_feature_psi_is_the_one_computed_here()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-in");
        await DeploymentTestSupport.PutOkAsync(api, model, Monitored);
        var rows = CaptureRows.FromBaseline(400, seed: 16);
        await CaptureRows.InsertBatchesAsync(Postgres, model, 1, $"{model}-in", rows);

        var drift = await RunOkAsync(api, model);
        Assert.Equal(1, drift["version"]!.GetValue<long>());
        Assert.Equal(400, drift["rows"]!.GetValue<long>());
        Assert.False(drift["drifted"]!.GetValue<bool>(), drift.ToJsonString());
        Assert.Equal(0, drift["score"]!.GetValue<double>());
        AssertPsiAsComputedHere(drift, rows);
        Assert.All(Features(drift), feature => Assert.True(feature["psi"]!.GetValue<double>() < 0.1, feature.ToJsonString()));

        // GET answers the stored result; the history has it (and whatever the schedule computed meanwhile).
        var latest = await GetOkAsync(api, $"/api/v1/models/{model}/drift?version=1");
        Assert.Equal(400, latest["rows"]!.GetValue<long>());
        var history = await GetOkAsync(api, $"/api/v1/models/{model}/drift/history?version=1&limit=50");
        Assert.Contains(history["points"]!.AsArray(), point => point!["trigger"]!.GetValue<string>() == "manual" && point["rows"]!.GetValue<long>() == 400);
        Assert.DoesNotContain(RolloutTestApi.WebhookTypes(hyperion, model), type => type == "model.drift_detected");
    }

    [Fact]
    public async Task Shifted_traffic_is_flagged_with_the_psi_computed_here_exported_as_a_gauge_sent_as_a_webhook_and_audited()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-shift");
        await DeploymentTestSupport.PutOkAsync(api, model, Monitored);
        // Every pixel 8 brighter: what was dark is mid-grey, and what was bright lies beyond the profile's last edge.
        var rows = CaptureRows.FromBaseline(300, seed: 61).Select(row => row.Select(v => v + 8).ToArray()).ToArray();
        await CaptureRows.InsertBatchesAsync(Postgres, model, 1, $"{model}-shift", rows);

        var drift = await RunOkAsync(api, model);
        Assert.True(drift["drifted"]!.GetValue<bool>(), drift.ToJsonString());
        Assert.Equal(300, drift["rows"]!.GetValue<long>());
        AssertPsiAsComputedHere(drift, rows);
        var features = Features(drift);
        var drifted = features.Count(feature => feature["psi"]!.GetValue<double>() > 0.2);
        Assert.Equal((double)drifted / features.Count, drift["score"]!.GetValue<double>(), 9);
        Assert.True(drifted > features.Count / 2, $"{drifted} of {features.Count} features drifted");
        // Worst first.
        Assert.Equal(features.Select(f => f["psi"]!.GetValue<double>()).OrderDescending(), features.Select(f => f["psi"]!.GetValue<double>()));

        var envelope = await RolloutTestApi.WebhookAsync(hyperion, model, "model.drift_detected");
        Assert.Equal(1, envelope["data"]!["version"]!.GetValue<long>());
        Assert.Contains(await RolloutTestApi.AuditAsync(hyperion, model), entry => entry.Action == "model.drift_detected" && entry.Target == "version 1");

        var metrics = await hyperion.CreateHttpClient("orchestrator").GetStringAsync("/metrics");
        var gauge = metrics.Split('\n').FirstOrDefault(line =>
            line.StartsWith("hyperion_orchestrator_model_drift_score{", StringComparison.Ordinal) && line.Contains($"model=\"{model}\"", StringComparison.Ordinal));
        Assert.True(gauge is not null, $"no drift score gauge for {model} in /metrics");
        Assert.Contains("version=\"1\"", gauge);
        Assert.Equal(drift["score"]!.GetValue<double>(), double.Parse(gauge.Split(' ')[1], CultureInfo.InvariantCulture), 6);
    }

    [Fact]
    public async Task Prediction_drift_compares_the_predicted_classes_with_the_versions_earliest_captures()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-pred");
        await DeploymentTestSupport.PutOkAsync(api, model, Monitored);
        // Three hours ago, before the 60-minute window: 50 rows predicted 0 and 50 predicted 1. Now: 25 and 75.
        var earlier = DateTimeOffset.UtcNow.AddHours(-3);
        for (var i = 0; i < 20; i++)
        {
            await CaptureRows.InsertAsync(Postgres, model, 1, $"{model}-ref{i}", CaptureRows.FromBaseline(5, seed: i), [.. Enumerable.Repeat(i < 10 ? 0L : 1L, 5)], at: earlier.AddSeconds(i));
            await CaptureRows.InsertAsync(Postgres, model, 1, $"{model}-now{i}", CaptureRows.FromBaseline(5, seed: 100 + i), [.. Enumerable.Repeat(i < 5 ? 0L : 1L, 5)]);
        }

        var prediction = (await RunOkAsync(api, model))["prediction"]!.AsObject();
        Assert.Equal("label", prediction["output"]!.GetValue<string>());
        Assert.Equal("classes", prediction["kind"]!.GetValue<string>());
        Assert.Equal("earliest_captures", prediction["reference"]!.GetValue<string>());
        Assert.Equal(100, prediction["reference_rows"]!.GetValue<long>());
        Assert.Equal(100, prediction["rows"]!.GetValue<long>());
        Assert.Equal(["0", "1"], prediction["bins"]!.AsArray().Select(bin => bin!.GetValue<string>()));
        Assert.Equal([25L, 75L], prediction["counts"]!.AsArray().Select(count => count!.GetValue<long>()));
        // (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
        Assert.Equal((-0.25 * Math.Log(0.5)) + (0.25 * Math.Log(1.5)), prediction["psi"]!.GetValue<double>(), 9);
        Assert.True(prediction["drifted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Drift_without_a_baseline_or_with_too_few_rows_says_so()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-none");
        await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits); // version 2: no baseline_profile

        using (var response = await api.PostAsync($"/api/v1/models/{model}/drift/run?version=2", content: null))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            Assert.Contains($"version 2 of '{model}' has no baseline_profile", body);
        }
        using (var response = await api.GetAsync($"/api/v1/models/{model}/drift"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("has no deployment to take the stable version of; name the version with ?version=", await response.Content.ReadAsStringAsync());
        }
        using (var response = await api.GetAsync($"/api/v1/models/{model}/drift?version=1"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains($"no drift computed yet for version 1 of '{model}'; POST /api/v1/models/{model}/drift/run computes it now", await response.Content.ReadAsStringAsync());
        }
        using (var response = await api.GetAsync($"/api/v1/models/{model}/drift/history?version=1&limit=0"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        await CaptureRows.InsertBatchesAsync(Postgres, model, 1, $"{model}-few", CaptureRows.FromBaseline(10, seed: 3));
        var drift = await RunOkAsync(api, model, "?version=1");
        Assert.Equal(10, drift["rows"]!.GetValue<long>());
        Assert.Null(drift["score"]);
        Assert.True(drift.ContainsKey("score"), "score is written as null, not left out");
        Assert.False(drift["drifted"]!.GetValue<bool>());
        Assert.Equal("too few rows for a verdict: 10 in the window, min_rows is 100", drift["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Feedback_gives_the_accuracy_of_what_was_served_counts_unmatched_labels_and_a_late_capture_matches()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "feedback");
        await DeploymentTestSupport.PutOkAsync(api, model, Monitored);
        // Twelve served requests of one row, predicted class i % 10; the last is known by its OIP id.
        var predicted = Enumerable.Range(0, 12).Select(i => (long)(i % 10)).ToArray();
        for (var i = 0; i < predicted.Length; i++)
        {
            await CaptureRows.InsertAsync(Postgres, model, 1, $"{model}-r{i}", CaptureRows.FromBaseline(1, seed: i), [predicted[i]], oipId: i == 11 ? $"{model}-oip" : null);
        }
        // True labels: right for the first 9 and the OIP one, wrong for r9 and r10. Two labels match no capture.
        var items = new JsonArray();
        for (var i = 0; i < 11; i++)
        {
            items.Add(new JsonObject { ["request_id"] = $"{model}-r{i}", ["label"] = i is 9 or 10 ? (predicted[i] + 1) % 10 : predicted[i] });
        }
        items.Add(new JsonObject { ["request_id"] = $"{model}-oip", ["label"] = predicted[11] });
        items.Add(new JsonObject { ["request_id"] = $"{model}-late", ["label"] = 4 });
        items.Add(new JsonObject { ["request_id"] = $"{model}-never", ["label"] = 5 });
        var answer = await PostFeedbackOkAsync(api, new JsonObject { ["model"] = model, ["items"] = items });
        Assert.Equal(14, answer["accepted"]!.GetValue<int>());
        Assert.Equal(2, answer["unmatched"]!.GetValue<long>());

        var quality = await GetOkAsync(api, $"/api/v1/models/{model}/quality");
        Assert.Equal(1, quality["version"]!.GetValue<long>());
        Assert.Equal(12, quality["count"]!.GetValue<long>());
        Assert.Equal(10.0 / 12, quality["metrics"]!["accuracy"]!.GetValue<double>(), 9);
        Assert.True(quality["metrics"]!["macro_f1"]!.GetValue<double>() is > 0 and < 1);
        Assert.Equal(2, quality["unmatched"]!.GetValue<long>());
        // Class 0 is the label of r0 and r9 and the prediction of r0 and r10: one of two right either way.
        Assert.Equal(0.5, quality["classes"]!["0"]!["recall"]!.GetValue<double>(), 9);
        Assert.Equal(0.5, quality["classes"]!["0"]!["precision"]!.GetValue<double>(), 9);
        // The capture of "late" lands after its label: it counts now, and one label stays unmatched.
        await CaptureRows.InsertAsync(Postgres, model, 1, $"{model}-late", CaptureRows.FromBaseline(1, seed: 99), [4]);
        var later = await GetOkAsync(api, $"/api/v1/models/{model}/quality?version=1");
        Assert.Equal(13, later["count"]!.GetValue<long>());
        Assert.Equal(11.0 / 13, later["metrics"]!["accuracy"]!.GetValue<double>(), 9);
        Assert.Equal(1, later["unmatched"]!.GetValue<long>());

        // Accuracy 0.85 is more than 0.05 under the 0.971 the version was registered with: the schedule says so.
        var envelope = await RolloutTestApi.WebhookAsync(hyperion, model, "model.quality_degraded");
        Assert.Equal(1, envelope["data"]!["version"]!.GetValue<long>());
        Assert.Equal(0.971111, envelope["data"]!["registered_accuracy"]!.GetValue<double>(), 6);
        Assert.Contains(await RolloutTestApi.AuditAsync(hyperion, model), entry => entry.Action == "model.quality_degraded");

        var metrics = await hyperion.CreateHttpClient("orchestrator").GetStringAsync("/metrics");
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("hyperion_orchestrator_model_quality{", StringComparison.Ordinal)
            && line.Contains($"model=\"{model}\"", StringComparison.Ordinal) && line.Contains("metric=\"accuracy\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Malformed_feedback_is_refused_naming_the_field_and_feedback_for_an_unknown_model_is_404()
    {
        using var api = hyperion.CreateApiClient();
        using (var response = await api.PostAsync("/api/v1/feedback",
            new StringContent("""{"model": "x", "items": [{"request_id": "", "label": 3}, {"request_id": "a"}]}""", Encoding.UTF8, "application/json")))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = JsonNode.Parse(body)!["errors"]!.AsObject();
            Assert.Equal(["items[0].request_id", "items[1].label"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
        }
        using (var response = await api.PostAsync("/api/v1/feedback", new StringContent("{\"model\": ", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        using (var response = await api.PostAsync("/api/v1/feedback",
            new StringContent("""{"model": "no-such-model-here", "items": [{"request_id": "a", "label": 3}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("no model named 'no-such-model-here'", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_schedule_computes_drift_of_monitored_deployments_on_its_own()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-schedule");
        await DeploymentTestSupport.PutOkAsync(api, model, Monitored);
        await CaptureRows.InsertBatchesAsync(Postgres, model, 1, $"{model}-s", CaptureRows.FromBaseline(100, seed: 7));
        var history = await DeploymentTestSupport.WaitUntilAsync(
            async () => await GetOkAsync(api, $"/api/v1/models/{model}/drift/history"),
            body => body["points"]!.AsArray().Any(point => point!["trigger"]!.GetValue<string>() == "schedule" && point["rows"]!.GetValue<long>() == 100),
            "a scheduled drift result over the 100 captured rows");
        Assert.Equal(model, history["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_round_asked_for_from_outside_computes_every_monitored_version_and_prunes_old_history()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "drift-round");
        await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits);
        await DeploymentTestSupport.PutOkAsync(api, model,
            """{"stable": 1, "shadow": {"version": 2, "percent": 0}, "monitoring": {"sample_percent": 0, "drift": {"min_rows": 100}}}""");
        await CaptureRows.InsertBatchesAsync(Postgres, model, 1, $"{model}-r", CaptureRows.FromBaseline(100, seed: 9));
        // A result from long ago, past the default 90 days of history: pruned once a newer one exists.
        await using (var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion")))
        {
            await connection.OpenAsync();
            await using var old = new NpgsqlCommand("""
                INSERT INTO drift_results (model, version, computed_at, trigger, window_start, window_end, rows, score, drifted, result)
                VALUES ($1, 1, now() - interval '200 days', 'schedule', now() - interval '201 days', now() - interval '200 days', 5, 0, false, '{}')
                """, connection);
            old.Parameters.Add(new NpgsqlParameter { Value = model });
            await old.ExecuteNonQueryAsync();
        }

        using var response = await api.PostAsync("/api/v1/drift/run", content: null);
        var round = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(response.StatusCode == HttpStatusCode.OK, round.ToJsonString());
        var mine = round["versions"]!.AsArray().Where(entry => entry!["model"]!.GetValue<string>() == model).ToDictionary(entry => entry!["version"]!.GetValue<long>());
        Assert.Equal(100, mine[1]!["rows"]!.GetValue<long>());
        Assert.False(mine[1]!["drifted"]!.GetValue<bool>(), mine[1]!.ToJsonString());
        Assert.Contains("no baseline_profile", mine[2]!["reason"]!.GetValue<string>());

        var history = await GetOkAsync(api, $"/api/v1/models/{model}/drift/history?version=1&limit=100");
        var points = history["points"]!.AsArray();
        Assert.Contains(points, point => point!["rows"]!.GetValue<long>() == 100);
        Assert.DoesNotContain(points, point => point!["rows"]!.GetValue<long>() == 5);

        using var infer = hyperion.CreateApiClient(key: "hyp_not-a-key");
        using var refused = await infer.PostAsync("/api/v1/drift/run", content: null);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static async Task<string> RegisterAsync(HttpClient api, string prefix)
    {
        var model = RegistryTestData.UniqueName(prefix);
        await RegistryTestData.CreateModelAsync(api, model);
        await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits, lineage: RegistryTestData.Lineage, baselineProfile: RegistryTestData.BaselineProfile);
        return model;
    }

    private static void AssertPsiAsComputedHere(JsonObject drift, double[][] rows)
    {
        var byName = Features(drift).ToDictionary(feature => feature["name"]!.GetValue<string>());
        Assert.Equal(CaptureRows.Features.Count, byName.Count);
        for (var f = 0; f < CaptureRows.Features.Count; f++)
        {
            var name = CaptureRows.Features[f].Name;
            Assert.Equal(CaptureRows.Psi(rows, f), byName[name]["psi"]!.GetValue<double>(), 9);
        }
    }

    private static List<JsonObject> Features(JsonObject drift) => [.. drift["features"]!.AsArray().Select(feature => feature!.AsObject())];

    private static async Task<JsonObject> RunOkAsync(HttpClient api, string model, string query = "")
    {
        using var response = await api.PostAsync($"/api/v1/models/{model}/drift/run{query}", content: null);
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

    private static async Task<JsonObject> PostFeedbackOkAsync(HttpClient api, JsonObject body)
    {
        using var response = await api.PostAsync("/api/v1/feedback", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST feedback: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
