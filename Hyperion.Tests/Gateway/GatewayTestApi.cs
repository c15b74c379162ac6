using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;

namespace Hyperion.Tests.Gateway;

/// <summary>Models deployed through the real control plane API, and calls through the gateway, for the gateway tests.</summary>
internal static class GatewayTestApi
{
    public const string VersionHeader = "X-Hyperion-Model-Version";

    /// <summary>identity_fp32: OUTPUT0 = -INPUT0, shape [1, 4].</summary>
    public const string IdentityRequest = """{"inputs":[{"name":"INPUT0","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""";

    /// <summary>
    /// Registers <paramref name="versions"/> versions of testdata's identity_fp32 under a new name, deploys them with
    /// <paramref name="deployment"/> and waits until the gateway routes the stable version.
    /// </summary>
    /// <param name="lastArtifact">testdata model uploaded as the last version instead (a version that answers differently).</param>
    public static async Task<string> DeployIdentityAsync(this GatewayFixture hyperion, int versions, JsonObject deployment, string prefix = "gw", string? lastArtifact = null)
    {
        var model = RegistryTestData.UniqueName(prefix);
        using var admin = hyperion.CreateApiClient();
        await RegistryTestData.CreateModelAsync(admin, model);
        var artifact = RegistryTestData.Model("identity_fp32");
        for (var version = 1; version <= versions; version++)
        {
            await RegistryTestData.UploadOkAsync(admin, model, version == versions && lastArtifact is not null ? RegistryTestData.Model(lastArtifact) : artifact);
        }
        using var put = await admin.PutAsync($"/api/v1/deployments/{model}", new StringContent(deployment.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(put.IsSuccessStatusCode, $"PUT deployment: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var gateway = hyperion.CreateGatewayClient(replica: replica);
            await WaitUntilAsync(async () =>
            {
                using var response = await InferAsync(gateway, model);
                return response.StatusCode == HttpStatusCode.OK && response.Headers.Contains(VersionHeader);
            }, TimeSpan.FromMinutes(2), $"gateway {replica} routing '{model}'");
        }
        return model;
    }

    /// <summary>An <c>infer</c> key with its own rate-limit plan.</summary>
    public static async Task<string> CreateKeyWithPlanAsync(this GatewayFixture hyperion, double requestsPerSecond, int burst)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsJsonAsync("/api/v1/keys", new
        {
            name = $"limited-{Guid.NewGuid():N}",
            scopes = new[] { "infer" },
            rate_limit = new { requests_per_second = requestsPerSecond, burst },
        });
        return (await JsonAsync(response)).GetProperty("key").GetString()!;
    }

    public static Task<HttpResponseMessage> InferAsync(HttpClient client, string model, string? path = null, string body = IdentityRequest, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path ?? $"/v2/models/{model}/infer") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        return client.SendAsync(request);
    }

    public static string VersionOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(VersionHeader, out var values) ? values.Single() : "(none)";

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The OIP error body <c>{"error": "..."}</c> of a refused call.</summary>
    public static async Task<string> AssertOipErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"{what}: not reached within {timeout.TotalSeconds:0} s");
            }
            await Task.Delay(250);
        }
    }

    public static JsonObject Deployment(string json) => JsonNode.Parse(json)!.AsObject();

    public static async Task<JsonElement> PostJsonAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        return await JsonAsync(response);
    }
}
