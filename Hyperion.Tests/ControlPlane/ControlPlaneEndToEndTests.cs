using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A graph of its own: the walk-through restarts the orchestrator and kills an inference replica.</summary>
public sealed class ControlPlaneEndToEndFixture : HyperionAppFixture;

[CollectionDefinition(Name)]
public sealed class ControlPlaneEndToEndCollection : ICollectionFixture<ControlPlaneEndToEndFixture>
{
    public const string Name = "Control plane end to end";
}

/// <summary>
/// Issue #4's walk-through as a user does it, all through the gateway: a key, a model, two versions, a
/// deployment switched from 1 to 2, the audit trail, and everything as it was after restarts.
/// </summary>
[Collection(ControlPlaneEndToEndCollection.Name)]
public sealed class ControlPlaneEndToEndTests(ControlPlaneEndToEndFixture hyperion)
{
    private const string Model = "e2e-digits";
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Register_deploy_call_switch_audit_and_survive_restarts()
    {
        using var admin = hyperion.CreateApiClient("gateway");

        // A key for a deploy pipeline, which can also call the model.
        using var created = await admin.PostAsJsonAsync("/api/v1/keys", new { name = "e2e-pipeline", scopes = new[] { "deploy", "infer:" + Model } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await created.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
        using var pipeline = hyperion.CreateApiClient("gateway", key);

        Assert.Equal(HttpStatusCode.Created, (await pipeline.PostAsJsonAsync("/api/v1/models", new
        {
            name = Model,
            task = "classification",
            description = "digits, end to end",
            tags = new Dictionary<string, string> { ["team"] = "e2e" },
        })).StatusCode);

        var v1 = await UploadAsync(pipeline);
        Assert.Equal(1, v1["version"]!.GetValue<long>());
        Assert.StartsWith("sha256:", v1["digest"]!.GetValue<string>());

        await DeployAsync(pipeline, stable: 1);
        await WaitUntilServingAsync(pipeline, stable: 1);
        await AssertClassifiesAsync(pipeline, expectedVersion: "1");

        var v2 = await UploadAsync(pipeline);
        Assert.Equal(2, v2["version"]!.GetValue<long>());
        await DeployAsync(pipeline, stable: 2);
        await WaitUntilServingAsync(pipeline, stable: 2);
        await AssertClassifiesAsync(pipeline, expectedVersion: "2");

        var audit = await pipeline.GetFromJsonAsync<JsonObject>($"/api/v1/audit?model={Model}");
        var actions = audit!["entries"]!.AsArray().Select(entry => entry!["action"]!.GetValue<string>()).ToList();
        Assert.Contains("model.created", actions);
        Assert.Equal(2, actions.Count(action => action == "version.registered"));
        Assert.True(actions.Count(action => action.StartsWith("deployment.", StringComparison.Ordinal)) >= 2, string.Join(", ", actions));
        // What the pipeline did is recorded as the pipeline's; the serving switch is the control plane's own.
        Assert.All(
            audit["entries"]!.AsArray().Where(entry => entry!["action"]!.GetValue<string>() is "model.created" or "version.registered" or "deployment.created" or "deployment.updated"),
            entry => Assert.Contains("e2e-pipeline", entry!["actor"]!.GetValue<string>()));
        Assert.Contains(audit["entries"]!.AsArray(), entry => entry!["action"]!.GetValue<string>() == "deployment.serving_changed"
            && entry["after"]?["serving_stable"]?.GetValue<long>() == 2);

        // The control plane restarts: registry, deployment and keys are as they were.
        await hyperion.StopAsync("orchestrator");
        await hyperion.StartAsync("orchestrator");
        await hyperion.WaitForHealthyAsync("orchestrator");
        await WaitUntilServingAsync(pipeline, stable: 2);
        var versions = await pipeline.GetFromJsonAsync<JsonNode>($"/api/v1/models/{Model}/versions");
        Assert.Equal(2, (versions is JsonArray array ? array : versions!["versions"]!.AsArray()).Count);

        // An inference replica crashes: the supervisor restarts it and it converges to the deployment again.
        var pid = hyperion.ProcessId("inference-1") ?? throw new InvalidOperationException("inference-1 is not running");
        Process.GetProcessById(pid).Kill();
        await WaitUntilAsync(async () =>
        {
            using var replica = hyperion.CreateHttpClient("inference", replica: 1);
            try
            {
                return (await replica.GetAsync($"/v2/models/{Model}/versions/2/ready")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "inference-1 to load version 2 again after its restart");
        await WaitUntilServingAsync(pipeline, stable: 2);
        await AssertClassifiesAsync(pipeline, expectedVersion: "2");
    }

    private static async Task<JsonObject> UploadAsync(HttpClient client)
    {
        using var form = new MultipartFormDataContent();
        var artifact = new ByteArrayContent(await File.ReadAllBytesAsync(TestPaths.Model("digits")));
        artifact.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(artifact, "artifact", "model.onnx");
        form.Add(new StringContent(await File.ReadAllTextAsync(TestPaths.Sample("digits", "lineage.json")), Encoding.UTF8, "application/json"), "lineage");
        using var response = await client.PostAsync($"/api/v1/models/{Model}/versions", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    private static async Task DeployAsync(HttpClient client, int stable)
    {
        using var response = await client.PutAsJsonAsync($"/api/v1/deployments/{Model}", new { stable });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task WaitUntilServingAsync(HttpClient client, int stable) => WaitUntilAsync(async () =>
    {
        using var response = await client.GetAsync($"/api/v1/deployments/{Model}");
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return status["ready"]?.GetValue<bool>() == true && status["serving"]?["stable"]?.GetValue<long>() == stable;
    }, $"deployment {Model} to serve version {stable} on every replica");

    private static async Task AssertClassifiesAsync(HttpClient client, string expectedVersion)
    {
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(TestPaths.Sample("digits", "expected.json")))!["label"]!.AsArray()
            .Select(label => label!.GetValue<long>()).ToArray();
        using var request = new StringContent(await File.ReadAllTextAsync(TestPaths.Sample("digits", "request.json")), Encoding.UTF8, "application/json");
        using var response = await client.PostAsync($"/v2/models/{Model}/infer", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var result = JsonNode.Parse(body)!;
        Assert.Equal(expectedVersion, result["model_version"]!.GetValue<string>());
        var labels = result["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]!.AsArray()
            .Select(label => label!.GetValue<long>()).ToArray();
        Assert.Equal(expected, labels);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > ConvergeTimeout)
            {
                throw new TimeoutException($"timed out after {ConvergeTimeout.TotalSeconds:0} s waiting for {what}");
            }
            await Task.Delay(250);
        }
    }
}
