using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Tests.ControlPlane;
using Npgsql;

namespace Hyperion.Tests.Rollouts;

/// <summary>Calls the rollout tests share: models with versions, a stable deployment that is ready, the rollout API, audit and webhooks.</summary>
internal static class RolloutTestApi
{
    /// <summary>
    /// A plan small enough for a test: two steps of at least 2 s and 20 canary requests each. The latency gate is
    /// wide (5×): on a machine shared by several test runs a p95 over a few dozen requests swings more than 2× with
    /// the same model on both arms (RolloutAnalysisTests check the gate itself).
    /// </summary>
    public static string SmallPlan(long stable, long canary, int stepSeconds = 2) =>
        string.Create(CultureInfo.InvariantCulture,
            $$$"""{"stable": {{{stable}}}, "canary": {"version": {{{canary}}}, "steps": [50, 100], "step_seconds": {{{stepSeconds}}}, "min_requests": 20, "max_p95_latency_ratio": 5}}""");

    /// <summary>Registers a model whose versions are the given testdata models, in order (version 1 first).</summary>
    public static async Task<string> RegisterAsync(HttpClient api, string prefix, params string[] versions)
    {
        var model = RegistryTestData.UniqueName(prefix);
        await RegistryTestData.CreateModelAsync(api, model);
        foreach (var artifact in versions)
        {
            await RegistryTestData.UploadOkAsync(api, model, RegistryTestData.Model(artifact));
        }
        return model;
    }

    /// <summary>PUTs <c>{"stable": n}</c> and waits until it serves on every replica and the gateway routes to it.</summary>
    public static async Task DeployStableAsync(RolloutAppFixture hyperion, HttpClient api, string model, long stable)
    {
        await DeploymentTestSupport.PutOkAsync(api, model, $$"""{"stable": {{stable}}}""");
        await DeploymentTestSupport.WaitForAsync(api, model, status => DeploymentTestSupport.IsReadyOn(status, stable, hyperion.InferenceReplicas),
            $"version {stable} of {model} ready on every replica");
        using var gateway = hyperion.CreateApiClient("gateway");
        await DeploymentTestSupport.WaitUntilAsync(async () =>
        {
            using var response = await gateway.PostAsync($"/v2/models/{model}/infer",
                new StringContent(DeploymentTestSupport.DigitsRequest, System.Text.Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }, status => status == HttpStatusCode.OK, $"the gateway routing {model}");
    }

    public static async Task<(HttpStatusCode Status, JsonObject Body)> PostAsync(HttpClient api, string model, string verb)
    {
        using var response = await api.PostAsync($"/api/v1/deployments/{model}/{verb}", content: null);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    public static async Task<JsonObject> PostOkAsync(HttpClient api, string model, string verb)
    {
        var (status, body) = await PostAsync(api, model, verb);
        Assert.True(status == HttpStatusCode.OK, $"POST {verb}: {(int)status} {body.ToJsonString()}");
        return body;
    }

    public static JsonObject? Rollout(JsonObject status) => status["rollout"]?.AsObject();

    public static string? State(JsonObject status) => Rollout(status)?["state"]?.GetValue<string>();

    public static long? Serving(JsonObject status) => status["serving"]?["stable"]?.GetValue<long>();

    /// <summary>The model's audit entries, oldest first, with their details.</summary>
    public static async Task<List<AuditRow>> AuditAsync(RolloutAppFixture hyperion, string model)
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT actor, action, target, details::text FROM audit_log WHERE model = $1 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        var rows = new List<AuditRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new AuditRow(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), JsonNode.Parse(reader.GetString(3))!.AsObject()));
        }
        return rows;
    }

    /// <summary>Waits for a webhook of <paramref name="type"/> about <paramref name="model"/>, checks its signature, and returns its envelope.</summary>
    public static async Task<JsonObject> WebhookAsync(RolloutAppFixture hyperion, string model, string type)
    {
        static JsonObject Envelope(ReceivedWebhook webhook) => JsonNode.Parse(webhook.Body)!.AsObject();
        bool Matches(ReceivedWebhook webhook) =>
            webhook.Path == RolloutAppFixture.HookPath && webhook.Header("X-Hyperion-Event") == type
            && Envelope(webhook)["model"]?.GetValue<string>() == model;
        var received = await hyperion.Receiver.WaitForAsync(all => all.Any(Matches), TimeSpan.FromSeconds(60), $"a {type} webhook about {model}");
        var webhook = received.First(Matches);
        var timestamp = long.Parse(webhook.Header("X-Hyperion-Timestamp")!, CultureInfo.InvariantCulture);
        Assert.Equal(WebhookSignature.Compute(RolloutAppFixture.Secret, timestamp, webhook.Body), webhook.Header("X-Hyperion-Signature"));
        return Envelope(webhook);
    }

    public static IEnumerable<string> WebhookTypes(RolloutAppFixture hyperion, string model) =>
        hyperion.Receiver.ReceivedOn(RolloutAppFixture.HookPath)
            .Select(webhook => JsonNode.Parse(webhook.Body)!.AsObject())
            .Where(envelope => envelope["model"]?.GetValue<string>() == model)
            .Select(envelope => envelope["type"]!.GetValue<string>());
}

internal sealed record AuditRow(string Actor, string Action, string? Target, JsonObject Details);
