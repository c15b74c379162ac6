using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Hyperion.AppHost.Samples;

/// <summary>
/// Registers and deploys the digits classifier the repository ships (testdata/models/digits, with its lineage
/// and baseline profile from samples/digits), through the control plane's public API, so a new user has a
/// model to call at once. Idempotent: what already exists is left as it is, so a restart changes nothing.
/// </summary>
public sealed class SampleModelDeployment(string repositoryRoot, Action<string> report)
{
    public const string ModelName = "digits";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(2);

    public async Task DeployAsync(Uri orchestrator, string adminKey, Uri gateway, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = orchestrator, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);

        if (await client.GetAsync($"/api/v1/models/{ModelName}", cancellationToken) is { StatusCode: HttpStatusCode.NotFound })
        {
            await SendAsync(client, HttpMethod.Post, "/api/v1/models", new JsonObject
            {
                ["name"] = ModelName,
                ["task"] = "classification",
                ["description"] = "Handwritten digits (8x8 pixels, 0-16) to 0-9; logistic regression on scikit-learn's digits data set.",
                ["tags"] = new JsonObject { ["sample"] = "true", ["framework"] = "scikit-learn" },
            }, cancellationToken);
        }

        if (await client.GetAsync($"/api/v1/models/{ModelName}/versions/1", cancellationToken) is { StatusCode: HttpStatusCode.NotFound })
        {
            await UploadVersionAsync(client, cancellationToken);
        }

        if (await client.GetAsync($"/api/v1/deployments/{ModelName}", cancellationToken) is { StatusCode: HttpStatusCode.NotFound })
        {
            await SendAsync(client, HttpMethod.Put, $"/api/v1/deployments/{ModelName}", new JsonObject { ["stable"] = 1 }, cancellationToken);
        }

        await WaitUntilReadyAsync(client, cancellationToken);
        report($"""
            Sample model '{ModelName}' is deployed. Classify two digits through the gateway:

              curl -s -H "Authorization: Bearer $(cat .hyperion/admin-key)" -H 'Content-Type: application/json' \
                -d @samples/digits/request.json {gateway.ToString().TrimEnd('/')}/v2/models/{ModelName}/infer
            """);
    }

    private async Task UploadVersionAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var modelFile = Path.Combine(repositoryRoot, "testdata", "models", ModelName, "1", "model.onnx");
        var samples = Path.Combine(repositoryRoot, "samples", ModelName);
        using var form = new MultipartFormDataContent();
        var artifact = new StreamContent(File.OpenRead(modelFile));
        artifact.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(artifact, "artifact", "model.onnx");
        form.Add(new StringContent(await File.ReadAllTextAsync(Path.Combine(samples, "lineage.json"), cancellationToken), Encoding.UTF8, "application/json"), "lineage");
        form.Add(new StringContent(await File.ReadAllTextAsync(Path.Combine(samples, "baseline_profile.json"), cancellationToken), Encoding.UTF8, "application/json"), "baseline_profile");
        using var response = await client.PostAsync($"/api/v1/models/{ModelName}/versions", form, cancellationToken);
        await EnsureSuccessAsync(response, "upload version 1", cancellationToken);
    }

    private async Task WaitUntilReadyAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            using var response = await client.GetAsync($"/api/v1/deployments/{ModelName}", cancellationToken);
            await EnsureSuccessAsync(response, "read the deployment", cancellationToken);
            var status = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            if (status?["ready"]?.GetValue<bool>() == true)
            {
                return;
            }
            if (Stopwatch.GetElapsedTime(started) > ReadyTimeout)
            {
                throw new TimeoutException(
                    $"the sample model was deployed but is not ready on every inference replica after {ReadyTimeout.TotalSeconds:0} s; its status: {status?.ToJsonString()}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static async Task SendAsync(HttpClient client, HttpMethod method, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await client.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, $"{method} {path}", cancellationToken);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"could not {what}: {(int)response.StatusCode} {body}");
        }
    }
}
