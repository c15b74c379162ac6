using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway;

namespace Hyperion.Tests.Pipelines;

/// <summary>Pipelines defined through the control plane API and called through the gateway, for the pipeline tests.</summary>
internal static class PipelineTestApi
{
    /// <summary>A model registered under a new name with testdata's <paramref name="artifact"/> as version 1 (and more when asked).</summary>
    public static async Task<string> RegisterAsync(HttpClient api, string artifact, string prefix, int versions = 1)
    {
        var model = RegistryTestData.UniqueName(prefix);
        await RegistryTestData.CreateModelAsync(api, model);
        for (var version = 0; version < versions; version++)
        {
            await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Model(artifact));
        }
        return model;
    }

    public static Task<HttpResponseMessage> PutAsync(HttpClient api, string pipeline, string json) =>
        api.PutAsync($"/api/v1/pipelines/{pipeline}", new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<JsonObject> PutOkAsync(HttpClient api, string pipeline, string json, HttpStatusCode expected)
    {
        using var response = await PutAsync(api, pipeline, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"PUT pipeline {json}: expected {(int)expected}, got {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>
    /// POSTs a pipeline call until the gateway knows the pipeline and routes its models: it hears of a new pipeline
    /// (404 until then) and of a newly ready deployment (503 until then) within a moment.
    /// </summary>
    public static async Task<HttpResponseMessage> InferRoutedAsync(HttpClient gateway, string pipeline, Func<HttpContent> content, Action<HttpRequestMessage>? configure = null)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/pipelines/{pipeline}/infer") { Content = content() };
            configure?.Invoke(request);
            var response = await gateway.SendAsync(request);
            if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable)
                || Stopwatch.GetElapsedTime(started) > DeploymentTestSupport.ConvergeTimeout)
            {
                return response;
            }
            response.Dispose();
            await Task.Delay(250);
        }
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The named output's data as doubles.</summary>
    public static double[] Output(JsonElement answer, string name) =>
        [.. answer.GetProperty("outputs").EnumerateArray().Single(output => output.GetProperty("name").GetString() == name)
            .GetProperty("data").EnumerateArray().Select(value => value.GetDouble())];

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : "(none)";

    /// <summary>Deploys <paramref name="model"/> and waits until every gateway routes it (a direct call answers 200 with the version).</summary>
    public static async Task DeployAsync(GatewayFixture hyperion, string model, string deployment, string request)
    {
        using var admin = hyperion.CreateApiClient();
        await DeploymentTestSupport.PutOkAsync(admin, model, deployment);
        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var gateway = hyperion.CreateGatewayClient(replica: replica);
            // Until the gateway's table has the model it is forwarded unrouted, and a replica not holding it yet answers 404.
            await GatewayTestApi.WaitUntilAsync(async () =>
            {
                using var response = await gateway.PostAsync($"/v2/models/{model}/infer", Json(request));
                return response.StatusCode == HttpStatusCode.OK && response.Headers.Contains(GatewayTestApi.VersionHeader);
            }, DeploymentTestSupport.ConvergeTimeout, $"gateway {replica} routing '{model}'");
        }
    }
}
