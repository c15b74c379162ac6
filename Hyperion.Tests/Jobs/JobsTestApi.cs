using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.TestSupport;

namespace Hyperion.Tests.Jobs;

/// <summary>Submitting jobs and reading them back as a user does, with the digits sample as the model.</summary>
internal static class JobsTestApi
{
    private static readonly float[][] s_images = ReadImages();

    /// <summary>The sample's two images; line i of <see cref="DigitsLines"/> is image i % 2, labelled <see cref="DeploymentTestSupport.ExpectedDigitLabels"/>[i % 2].</summary>
    public static float[] Image(int index) => s_images[index % s_images.Length];

    public static long ExpectedLabel(long line) => DeploymentTestSupport.ExpectedDigitLabels[line % 2];

    public static string DigitsLine(int index) => JsonSerializer.Serialize(new Dictionary<string, float[]> { ["pixels"] = Image(index) });

    public static string DigitsLines(int count) => string.Join('\n', Enumerable.Range(0, count).Select(DigitsLine)) + "\n";

    /// <summary>A digits model (unique name) with version 1 registered and deployed as stable, ready on every replica.</summary>
    public static async Task<string> DeployedDigitsAsync(JobsFixture hyperion, int versions = 1, string deployment = """{"stable": 1}""")
    {
        using var api = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(api, "jobs", versions);
        await DeploymentTestSupport.PutOkAsync(api, model, deployment);
        await DeploymentTestSupport.WaitForAsync(api, model, status => status["ready"]?.GetValue<bool>() == true, "the deployment to be ready");
        return model;
    }

    /// <summary>A job spec for <paramref name="model"/>; <paramref name="more"/> adds fields (<c>, "version": 2</c>).</summary>
    public static string Spec(string model, string more = "") => "{\"target\": {\"model\": \"" + model + "\"}" + more + "}";

    public static MultipartFormDataContent Submission(string spec, string input, string fileName = "input.jsonl", string? contentType = null)
    {
        var content = new MultipartFormDataContent { { new StringContent(spec, Encoding.UTF8, "application/json"), "spec" } };
        var file = new StringContent(input, Encoding.UTF8);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/x-ndjson");
        content.Add(file, "input", fileName);
        return content;
    }

    public static async Task<JsonObject> SubmitOkAsync(HttpClient api, string spec, string input, string fileName = "input.jsonl", string? contentType = null)
    {
        using var response = await api.PostAsync("/api/v1/jobs", Submission(spec, input, fileName, contentType));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /api/v1/jobs answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public static async Task<JsonObject> GetJobAsync(HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/api/v1/jobs/{id}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET job answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Polls the job until it has finished (succeeded, failed or cancelled); <paramref name="observe"/> sees each read.</summary>
    public static Task<JsonObject> WaitFinishedAsync(HttpClient api, string id, Action<JsonObject>? observe = null) =>
        DeploymentTestSupport.WaitUntilAsync(
            async () =>
            {
                var job = await GetJobAsync(api, id);
                observe?.Invoke(job);
                return job;
            },
            job => job["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled",
            $"job {id} to finish");

    /// <summary>The results, one parsed object per line.</summary>
    public static async Task<List<JsonObject>> ResultsAsync(HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/api/v1/jobs/{id}/results");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET results answered {(int)response.StatusCode}: {body}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!.AsObject())];
    }

    private static float[][] ReadImages()
    {
        var request = JsonNode.Parse(File.ReadAllText(TestPaths.Sample("digits", "request.json")))!;
        var data = request["inputs"]![0]!["data"]!.AsArray().Select(value => value!.GetValue<float>()).ToArray();
        return [data[..64], data[64..128]];
    }
}
