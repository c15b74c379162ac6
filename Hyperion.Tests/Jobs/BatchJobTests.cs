using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Pipelines;
using Hyperion.Tests.TestSupport;
using static Hyperion.Tests.Jobs.JobsTestApi;

namespace Hyperion.Tests.Jobs;

/// <summary>
/// Batch jobs on the real graph: a JSONL or CSV file scored by a deployed version, results in input order, a bad line
/// failing alone, progress in the logs, the job's own webhook, cancel, and every refusal a submission can get.
/// </summary>
[Collection(JobsCollection.Name)]
public sealed class BatchJobTests(JobsFixture hyperion)
{
    [Fact]
    public async Task Every_line_gets_one_result_in_input_order_and_a_bad_line_fails_alone()
    {
        var model = await DeployedDigitsAsync(hyperion);
        using var api = hyperion.CreateApiClient();
        const int Lines = 250;
        var lines = Enumerable.Range(0, Lines).Select(DigitsLine).ToArray();
        lines[7] = """{"pixels": [1, 2, 3]}""";
        lines[120] = """{pixels: [0, 0]}""";
        lines[121] = """{"pixel": [0]}""";
        // A blank line is no instance: it takes no line number.
        var input = string.Join('\n', lines[..60]) + "\n\n" + string.Join('\n', lines[60..]) + "\n";
        var hook = $"/hooks/job-{Guid.NewGuid():N}";

        var submitted = await SubmitOkAsync(api, Spec(model, $", \"webhook_url\": \"{hyperion.Receiver.UrlOf(hook)}\""), input);
        Assert.Equal("queued", submitted["state"]!.GetValue<string>());
        Assert.Equal(1, submitted["version"]!.GetValue<long>());
        Assert.Equal(Lines, submitted["total"]!.GetValue<long>());
        var secret = submitted["webhook_secret"]!.GetValue<string>();
        var id = submitted["id"]!.GetValue<string>();

        var job = await WaitFinishedAsync(api, id);
        Assert.Equal("succeeded", job["state"]!.GetValue<string>());
        Assert.Equal(Lines, job["done"]!.GetValue<long>());
        Assert.Equal(3, job["failed"]!.GetValue<long>());
        Assert.Equal(Lines - 3, job["succeeded"]!.GetValue<long>());
        Assert.Null(job["webhook_secret"]);

        var results = await ResultsAsync(api, id);
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => (long)i), results.Select(result => result["line"]!.GetValue<long>()));
        foreach (var result in results)
        {
            var line = result["line"]!.GetValue<long>();
            if (line is 7 or 120 or 121)
            {
                Assert.Null(result["outputs"]);
                continue;
            }
            Assert.Null(result["error"]);
            Assert.Equal(ExpectedLabel(line), result["outputs"]!["label"]!.GetValue<long>());
            Assert.Equal(10, result["outputs"]!["probabilities"]!.AsArray().Count);
        }
        Assert.Contains("64", results[7]["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", results[120]["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("unknown input 'pixel'", results[121]["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // Progress, chunk by chunk, in the orchestrator's log (and so on the dashboard).
        var log = (await hyperion.LogLinesAsync("orchestrator")).Select(line => line.Content).ToList();
        Assert.Contains(log, line => line.Contains($"Job {id}: chunk 0 scored", StringComparison.Ordinal));
        Assert.Contains(log, line => line.Contains($"Job {id}: chunk", StringComparison.Ordinal) && line.Contains($"{Lines} of {Lines} lines done", StringComparison.Ordinal));

        // job.succeeded to the job's own URL, signed with the secret the submission was given.
        var delivery = await DeploymentTestSupport.WaitUntilAsync(
            () => Task.FromResult(hyperion.Receiver.Received.FirstOrDefault(received => received.Path == hook)),
            received => received is not null, "the job's webhook");
        Assert.Equal(NotificationEventTypes.JobSucceeded, delivery!.Header("X-Hyperion-Event"));
        var timestamp = long.Parse(delivery.Header("X-Hyperion-Timestamp")!, CultureInfo.InvariantCulture);
        Assert.Equal(WebhookSignature.Compute(secret, timestamp, delivery.Body), delivery.Header("X-Hyperion-Signature"));
        var envelope = JsonNode.Parse(delivery.Body)!;
        Assert.Equal(id, envelope["data"]!["id"]!.GetValue<string>());
        Assert.Equal(3, envelope["data"]!["failed"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_pipeline_job_sends_its_lines_through_the_gateway_that_runs_the_pipeline()
    {
        using var api = hyperion.CreateApiClient();
        var prep = await PipelineTestApi.RegisterAsync(api, "scale_pixels", "jobs-prep");
        var digits = await DeployedDigitsAsync(hyperion);
        await DeploymentTestSupport.PutOkAsync(api, prep, """{"stable": 1}""");
        await DeploymentTestSupport.WaitForAsync(api, prep, status => status["ready"]?.GetValue<bool>() == true, "the pre-processor to be ready");
        var pipeline = RegistryTestData.UniqueName("jobs-flow");
        await PipelineTestApi.PutOkAsync(api, pipeline, $$$"""
            {"steps": [{"name": "scale", "model": "{{{prep}}}"}, {"name": "clf", "model": "{{{digits}}}", "inputs": {"pixels": "scale.pixels"}}],
             "outputs": {"label": "clf.label"}}
            """, HttpStatusCode.Created);
        using (var gateway = hyperion.CreateApiClient("gateway"))
        using (var routed = await PipelineTestApi.InferRoutedAsync(gateway, pipeline, () => PipelineTestApi.Json(File.ReadAllText(TestPaths.Sample("digits", "images.json")))))
        {
            Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        }

        // A line holds what the pipeline takes from its request: the pre-processor's 'image', in 0..1.
        var lines = string.Join('\n', Enumerable.Range(0, 100).Select(i =>
            "{\"image\": [" + string.Join(", ", Image(i).Select(v => (v / 16).ToString(CultureInfo.InvariantCulture))) + "]}"));
        var submitted = await SubmitOkAsync(api, "{\"target\": {\"pipeline\": \"" + pipeline + "\"}}", lines);
        Assert.Equal(1, submitted["revision"]!.GetValue<long>());
        Assert.Equal(pipeline, submitted["target"]!["pipeline"]!.GetValue<string>());
        var job = await WaitFinishedAsync(api, submitted["id"]!.GetValue<string>());
        Assert.Equal("succeeded", job["state"]!.GetValue<string>());
        Assert.Equal(0, job["failed"]!.GetValue<long>());
        var results = await ResultsAsync(api, submitted["id"]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, 100).Select(i => ExpectedLabel(i)), results.Select(result => result["outputs"]!["label"]!.GetValue<long>()));

        // The pipeline's steps need a key for each model.
        var narrow = await hyperion.CreateKeyAsync([$"infer:{digits}"]);
        using var narrowApi = hyperion.CreateApiClient(key: narrow.Key);
        using var refused = await narrowApi.PostAsync("/api/v1/jobs", Submission("{\"target\": {\"pipeline\": \"" + pipeline + "\"}}", lines));
        var problem = await RegistryTestData.ProblemAsync(refused, HttpStatusCode.Forbidden);
        Assert.Contains($"'{prep}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_csv_file_is_scored_row_by_row_for_a_model_with_one_input()
    {
        var model = await DeployedDigitsAsync(hyperion);
        using var api = hyperion.CreateApiClient();
        var header = string.Join(',', Enumerable.Range(0, 64).Select(i => $"p{i}"));
        var rows = Enumerable.Range(0, 9).Select(i => string.Join(',', Image(i).Select(v => v.ToString(CultureInfo.InvariantCulture))));
        var submitted = await SubmitOkAsync(api, Spec(model), header + "\r\n" + string.Join("\r\n", rows), "pixels.csv", "text/csv");
        Assert.Equal("csv", submitted["input_format"]!.GetValue<string>());
        Assert.Equal(9, submitted["total"]!.GetValue<long>());

        var job = await WaitFinishedAsync(api, submitted["id"]!.GetValue<string>());
        Assert.Equal("succeeded", job["state"]!.GetValue<string>());
        var results = await ResultsAsync(api, submitted["id"]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, 9).Select(i => ExpectedLabel(i)), results.Select(result => result["outputs"]!["label"]!.GetValue<long>()));
    }

    [Fact]
    public async Task A_job_whose_every_line_fails_has_failed_and_says_why()
    {
        var model = await DeployedDigitsAsync(hyperion);
        using var api = hyperion.CreateApiClient();
        var submitted = await SubmitOkAsync(api, Spec(model), "[1, 2]\n\"text\"\n");
        var job = await WaitFinishedAsync(api, submitted["id"]!.GetValue<string>());
        Assert.Equal("failed", job["state"]!.GetValue<string>());
        Assert.Equal(2, job["failed"]!.GetValue<long>());
        Assert.Contains("every line failed", job["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("line 0", job["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.All(await ResultsAsync(api, submitted["id"]!.GetValue<string>()), result => Assert.Contains("JSON object", result["error"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancelling_stops_a_job_and_keeps_what_was_scored()
    {
        var model = await DeployedDigitsAsync(hyperion);
        using var api = hyperion.CreateApiClient();
        var submitted = await SubmitOkAsync(api, Spec(model), DigitsLines(20_000));
        var id = submitted["id"]!.GetValue<string>();
        await DeploymentTestSupport.WaitUntilAsync(() => GetJobAsync(api, id), job => job["done"]!.GetValue<long>() > 0, "the job to score its first chunk");

        using var cancel = await api.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var job = await WaitFinishedAsync(api, id);
        Assert.Equal("cancelled", job["state"]!.GetValue<string>());
        Assert.True(job["done"]!.GetValue<long>() < 20_000, "a cancelled job stops before its last line");

        // Its finished chunks' results stay, in order, with no line twice.
        await Task.Delay(TimeSpan.FromSeconds(JobsFixture.LeaseSeconds));
        var results = await ResultsAsync(api, id);
        Assert.NotEmpty(results);
        Assert.Equal(results.Count, results.Select(result => result["line"]!.GetValue<long>()).Distinct().Count());
        Assert.Equal(results.Select(result => result["line"]!.GetValue<long>()).Order(), results.Select(result => result["line"]!.GetValue<long>()));

        // Cancelling again changes nothing; a finished job cannot be cancelled.
        using var again = await api.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var small = await SubmitOkAsync(api, Spec(model), DigitsLines(3));
        await WaitFinishedAsync(api, small["id"]!.GetValue<string>());
        using var late = await api.PostAsync($"/api/v1/jobs/{small["id"]}/cancel", null);
        var problem = await RegistryTestData.ProblemAsync(late, HttpStatusCode.Conflict);
        Assert.Contains("already succeeded", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Listed newest first, with their states.
        using var list = await api.GetAsync("/api/v1/jobs?limit=5");
        var listed = JsonNode.Parse(await list.Content.ReadAsStringAsync())!["jobs"]!.AsArray();
        Assert.Equal(small["id"]!.GetValue<string>(), listed[0]!["id"]!.GetValue<string>());
        Assert.Equal(id, listed[1]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_submissions_get_a_clear_error_and_queue_nothing()
    {
        var model = await DeployedDigitsAsync(hyperion, versions: 2);
        using var api = hyperion.CreateApiClient();
        var good = DigitsLines(2);

        async Task<string> RefusedAsync(HttpContent content, HttpStatusCode status, HttpClient? client = null)
        {
            using var response = await (client ?? api).PostAsync("/api/v1/jobs", content);
            return (await RegistryTestData.ProblemAsync(response, status)).GetProperty("detail").GetString()!;
        }

        Assert.Contains("multipart/form-data", await RefusedAsync(new StringContent(good), HttpStatusCode.UnsupportedMediaType), StringComparison.Ordinal);
        Assert.Contains("no 'input' part", await RefusedAsync(new MultipartFormDataContent { { new StringContent(Spec(model)), "spec" } }, HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", await RefusedAsync(Submission("{\"target\": ", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("unknown field 'modle'", await RefusedAsync(Submission("""{"target": {"modle": "x"}}""", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("exactly one", await RefusedAsync(Submission("{\"target\": {\"model\": \"" + model + "\", \"pipeline\": \"p\"}}", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("pipeline 'no-such-pipeline' does not exist", await RefusedAsync(Submission("""{"target": {"pipeline": "no-such-pipeline"}}""", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("model target only", await RefusedAsync(Submission("""{"target": {"pipeline": "p"}, "version": 1}""", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("not registered", await RefusedAsync(Submission("""{"target": {"model": "no-such-model"}}""", good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("version 2", await RefusedAsync(Submission(Spec(model, """, "version": 2"""), good), HttpStatusCode.Conflict), StringComparison.Ordinal);
        Assert.Contains("webhook_url", await RefusedAsync(Submission(Spec(model, ", \"webhook_url\": \"ftp://x\""), good), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("holds no instances", await RefusedAsync(Submission(Spec(model), "\n \n"), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        var undeployed = await DeploymentTestSupport.RegisterDigitsAsync(api, "jobs-undeployed", 1);
        Assert.Contains("no deployment", await RefusedAsync(Submission(Spec(undeployed), good), HttpStatusCode.Conflict), StringComparison.Ordinal);

        // A key for another model may not score this one, nor see a job it did not submit.
        var otherKey = await hyperion.CreateKeyAsync(["infer:some-other-model"]);
        using var other = hyperion.CreateApiClient(key: otherKey.Key);
        Assert.Contains($"'infer:{model}'", await RefusedAsync(Submission(Spec(model), good), HttpStatusCode.Forbidden, other), StringComparison.Ordinal);
        var mine = await SubmitOkAsync(api, Spec(model), good);
        using (var hidden = await other.GetAsync($"/api/v1/jobs/{mine["id"]}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        }
        using (var malformed = await api.GetAsync("/api/v1/jobs/not-a-job"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }
        using (var running = await api.GetAsync($"/api/v1/jobs/{mine["id"]}/results"))
        {
            // Answered 409 while it runs, or the results once it has finished: never half of them as if complete.
            Assert.True(running.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.OK);
        }
        Assert.Equal("succeeded", (await WaitFinishedAsync(api, mine["id"]!.GetValue<string>()))["state"]!.GetValue<string>());
    }
}
