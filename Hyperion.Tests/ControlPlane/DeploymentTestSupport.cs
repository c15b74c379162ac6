using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Calls the deployment tests share: register a model with versions, PUT a spec, wait for a status, infer on a replica.</summary>
internal static class DeploymentTestSupport
{
    /// <summary>Generous: two cores shared by several engineers, and each replica loads every version it is given.</summary>
    public static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(90);

    public static string DigitsRequest => File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot, "samples", "digits", "request.json"));

    public static long[] ExpectedDigitLabels { get; } = [.. JsonNode.Parse(File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot, "samples", "digits", "expected.json")))!["label"]!.AsArray().Select(label => label!.GetValue<long>())];

    /// <summary>Registers a model (unique name) and uploads the digits classifier as versions 1..<paramref name="versions"/>.</summary>
    public static async Task<string> RegisterDigitsAsync(HttpClient api, string prefix, int versions, Func<int, string?>? configOf = null)
    {
        var model = RegistryTestData.UniqueName(prefix);
        await RegistryTestData.CreateModelAsync(api, model);
        for (var version = 1; version <= versions; version++)
        {
            var uploaded = await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Digits, configOf?.Invoke(version));
            Assert.Equal(version, uploaded.GetProperty("version").GetInt64());
        }
        return model;
    }

    public static async Task<HttpResponseMessage> PutAsync(HttpClient api, string model, string json) =>
        await api.PutAsync($"/api/v1/deployments/{model}", new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<JsonObject> PutOkAsync(HttpClient api, string model, string json)
    {
        using var response = await PutAsync(api, model, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {json}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public static async Task<JsonObject> GetAsync(HttpClient api, string model)
    {
        using var response = await api.GetAsync($"/api/v1/deployments/{model}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET deployment {model}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Polls the deployment until <paramref name="condition"/> holds; each status seen is passed to <paramref name="observe"/> first.</summary>
    public static async Task<JsonObject> WaitForAsync(HttpClient api, string model, Func<JsonObject, bool> condition, string what, Action<JsonObject>? observe = null)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var status = await GetAsync(api, model);
            observe?.Invoke(status);
            if (condition(status))
            {
                return status;
            }
            if (Stopwatch.GetElapsedTime(started) > ConvergeTimeout)
            {
                Assert.Fail($"{what}: not within {ConvergeTimeout.TotalSeconds:0} s; last status: {status.ToJsonString()}");
            }
            await Task.Delay(250);
        }
    }

    public static async Task<T> WaitUntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }
            if (Stopwatch.GetElapsedTime(started) > ConvergeTimeout)
            {
                Assert.Fail($"{what}: not within {ConvergeTimeout.TotalSeconds:0} s; last: {value}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// POSTs through the gateway until it routes the model: the deployment's status can say ready a moment before
    /// the gateway's routing table does, and until then the gateway answers 503 "retry shortly".
    /// </summary>
    public static async Task<HttpResponseMessage> PostRoutedAsync(HttpClient gateway, string path, Func<HttpContent> content)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var response = await gateway.PostAsync(path, content());
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || Stopwatch.GetElapsedTime(started) > ConvergeTimeout)
            {
                return response;
            }
            response.Dispose();
            await Task.Delay(250);
        }
    }

    public static bool IsReadyOn(JsonObject status, long stable, int replicas) =>
        status["ready"]!.GetValue<bool>()
        && status["serving"]?["stable"]?.GetValue<long>() == stable
        && Version(status, stable) is { } version
        && version["ready_replicas"]!.GetValue<int>() == replicas
        && version["replicas"]!.GetValue<int>() == replicas;

    public static JsonObject? Version(JsonObject status, long version) =>
        status["versions"]!.AsArray().Select(v => v!.AsObject()).FirstOrDefault(v => v["version"]!.GetValue<long>() == version);

    /// <summary>Infers the digits sample on one inference replica directly; returns the status and, on success, the labels.</summary>
    public static async Task<(HttpStatusCode Status, long[]? Labels, string Body)> InferDigitsAsync(HyperionAppFixture hyperion, int replica, string model, long version)
    {
        using var client = hyperion.CreateHttpClient("inference", replica: replica);
        using var response = await client.PostAsync(
            $"/v2/models/{model}/versions/{version}/infer", new StringContent(DigitsRequest, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (response.StatusCode, null, body);
        }
        var label = JsonNode.Parse(body)!["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!;
        return (response.StatusCode, [.. label["data"]!.AsArray().Select(value => value!.GetValue<long>())], body);
    }

    public static async Task<JsonObject> RoutingAsync(HyperionAppFixture hyperion)
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        return JsonNode.Parse(await client.GetStringAsync("/internal/v1/routing"))!.AsObject();
    }

    public static JsonObject? RouteOf(JsonObject routing, string model) =>
        routing["models"]!.AsArray().Select(route => route!.AsObject()).FirstOrDefault(route => route["model"]!.GetValue<string>() == model);

    /// <summary>The model's audit entries as <c>GET /api/v1/audit?model=</c> answers them, turned oldest first.</summary>
    public static async Task<List<(string Actor, string Action, string? Target, JsonNode? Before, JsonNode? After)>> AuditAsync(HyperionAppFixture hyperion, string model)
    {
        using var api = hyperion.CreateApiClient();
        using var response = await api.GetAsync($"/api/v1/audit?model={Uri.EscapeDataString(model)}&limit=1000");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET audit: {(int)response.StatusCode} {body}");
        return [.. JsonNode.Parse(body)!["entries"]!.AsArray().Reverse().Select(entry => (
            entry!["actor"]!.GetValue<string>(),
            entry["action"]!.GetValue<string>(),
            entry["target"]?.GetValue<string>(),
            entry["before"]?.DeepClone(),
            entry["after"]?.DeepClone()))];
    }

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;
}
