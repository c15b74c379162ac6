using System.Diagnostics;
using System.Text.Json;
using Hyperion.Benchmarks.Hosting;
using Hyperion.Benchmarks.Load;

namespace Hyperion.Benchmarks.Pipelines;

/// <summary>
/// The two-step pipeline of docs/pipelines.md on the real graph: <c>testdata/models/scale_pixels</c> (8x8 images in
/// 0..1 to the 0..16 the classifier was trained on) feeding the <c>digits</c> classifier, deployed through the
/// control plane as a user would, and a caller key whose rate limit is out of the way, so the rows measure the
/// pipeline and not the gateway's default bucket (100 requests/s). The same two models, called back to back by
/// <see cref="BackToBackClient"/>, are the baseline.
/// </summary>
internal sealed class PipelineRun(GraphUnderTest graph, HttpClient http)
{
    public const string Pipeline = "digits-flow";
    public const string PrepModel = "prep";
    public const string ClassifierModel = "digits";
    public const string PrepStep = "scale";
    public const string ClassifierStep = "clf";
    private const int Pixels = 64;
    private static readonly string[] ClassifierOutputs = ["label", "probabilities"];

    private string _authorization = "";
    private float[] _image = [];
    private long _expectedLabel;

    public Uri PipelineUrl => new(graph.Gateway, $"v2/pipelines/{Pipeline}/infer");

    public Uri MetricsUrl => new(graph.Gateway, "metrics");

    /// <summary>The pipeline's request, one image; in JSON it is also the client's first call, byte for byte.</summary>
    public RequestBody Request(string encoding) => WithAuthorization(encoding == "binary"
        ? RequestBodies.Binary("image", ClassifierOutputs, 1, Pixels, _image)
        : RequestBodies.Json("image", 1, Pixels, _image));

    /// <summary>The client's first call (to the pre-processor), asking for its output in binary when the client speaks binary.</summary>
    public RequestBody FirstCall(string encoding) => encoding == "binary"
        ? RequestBodies.Binary("image", ["pixels"], 1, Pixels, _image)
        : RequestBodies.Json("image", 1, Pixels, _image);

    public BackToBackClient Client => new(
        new Uri(graph.Gateway, $"v2/models/{PrepModel}/infer"), new Uri(graph.Gateway, $"v2/models/{ClassifierModel}/infer"),
        _authorization, handOff: "pixels", secondInput: "pixels", ClassifierOutputs);

    /// <summary>Deploys both models, defines the pipeline, issues the key and waits until the gateway runs the pipeline; null, or what went wrong.</summary>
    public async Task<string?> SetUpAsync(string root, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var models = Path.Combine(root, "testdata", "models");
        var samples = Path.Combine(root, "samples", "digits");
        using (var images = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(samples, "images.json"), cancellationToken)))
        {
            _image = [.. images.RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Take(Pixels).Select(value => value.GetSingle())];
        }
        using (var expected = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(samples, "expected.json"), cancellationToken)))
        {
            _expectedLabel = expected.RootElement.GetProperty("label")[0].GetInt64();
        }

        foreach (var (model, directory) in new[] { (PrepModel, "scale_pixels"), (ClassifierModel, "digits") })
        {
            if (await graph.DeployAsync(http, model, Path.Combine(models, directory, "1", "model.onnx"), null, timeout, cancellationToken) is { } problem)
            {
                return problem;
            }
        }
        using (var response = await graph.SendAsync(http, HttpMethod.Put, $"api/v1/pipelines/{Pipeline}", GraphUnderTest.JsonContent($$$"""
            {"steps": [{"name": "{{{PrepStep}}}", "model": "{{{PrepModel}}}"},
                       {"name": "{{{ClassifierStep}}}", "model": "{{{ClassifierModel}}}", "inputs": {"pixels": "{{{PrepStep}}}.pixels"}}],
             "outputs": {"label": "{{{ClassifierStep}}}.label", "probabilities": "{{{ClassifierStep}}}.probabilities"}}
            """), cancellationToken))
        {
            if (await GraphUnderTest.ProblemAsync(response, $"defining pipeline {Pipeline}", cancellationToken) is { } problem)
            {
                return problem;
            }
        }
        using (var response = await graph.SendAsync(http, HttpMethod.Post, "api/v1/keys", GraphUnderTest.JsonContent(
            """{"name": "benchmark", "scopes": ["infer"], "rate_limit": {"requests_per_second": 1000000, "burst": 10000000}}"""), cancellationToken))
        {
            if (await GraphUnderTest.ProblemAsync(response, "issuing the caller's key", cancellationToken) is { } problem)
            {
                return problem;
            }
            using var key = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            _authorization = "Bearer " + key.RootElement.GetProperty("key").GetString();
        }

        // The gateway hears of a new pipeline (and key) within a moment.
        var deadline = Stopwatch.StartNew();
        string? last = null;
        while (deadline.Elapsed < timeout)
        {
            last = await CheckAsync(cancellationToken);
            if (last is null)
            {
                return null;
            }
            await Task.Delay(250, cancellationToken);
        }
        return $"the pipeline did not answer as the client does within {timeout.TotalSeconds:0} s: {last}";
    }

    /// <summary>
    /// Whether the pipeline and the client, in JSON and in binary, all answer 200, and in JSON both with the sample's
    /// label for the image; null when they do.
    /// </summary>
    private async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        var client = Client;
        foreach (var encoding in new[] { "json", "binary" })
        {
            var body = Request(encoding);
            using var request = new HttpRequestMessage(HttpMethod.Post, PipelineUrl) { Content = new ByteArrayContent(body.Bytes) };
            request.Content.Headers.ContentType = new(body.ContentType);
            foreach (var (name, value) in body.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
            using var pipelineAnswer = await http.SendAsync(request, cancellationToken);
            using var clientAnswer = await client.CallAsync(http, FirstCall(encoding), cancellationToken);
            var pipelineText = await pipelineAnswer.Content.ReadAsStringAsync(cancellationToken);
            var clientText = await clientAnswer.Content.ReadAsStringAsync(cancellationToken);
            if (!pipelineAnswer.IsSuccessStatusCode || !clientAnswer.IsSuccessStatusCode)
            {
                return $"{encoding}: the pipeline answered {(int)pipelineAnswer.StatusCode} {Truncate(pipelineText)}, the client's calls {(int)clientAnswer.StatusCode} {Truncate(clientText)}";
            }
            if (encoding == "json" && (Label(pipelineText) != _expectedLabel || Label(clientText) != _expectedLabel))
            {
                return $"the sample image is a {_expectedLabel}, but the pipeline answered {Truncate(pipelineText)} and the client's calls {Truncate(clientText)}";
            }
        }
        return null;
    }

    private static long? Label(string answer)
    {
        using var json = JsonDocument.Parse(answer);
        foreach (var output in json.RootElement.GetProperty("outputs").EnumerateArray())
        {
            if (output.GetProperty("name").GetString() == "label")
            {
                return output.GetProperty("data")[0].GetInt64();
            }
        }
        return null;
    }

    private RequestBody WithAuthorization(RequestBody body) =>
        body with { Headers = body.Headers.Append(KeyValuePair.Create("Authorization", _authorization)).ToDictionary(h => h.Key, h => h.Value) };

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
