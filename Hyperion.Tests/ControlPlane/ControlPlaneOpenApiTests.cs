using System.Text.Json;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// The OpenAPI document lists every status each call answers: it follows from the handlers' result types
/// (<c>Results&lt;Ok&lt;T&gt;, NotFoundProblem, ...&gt;</c>), so these lists are what the handlers can return.
/// </summary>
public sealed class ControlPlaneOpenApiTests(ControlPlaneOpenApiTests.Document document) : IClassFixture<ControlPlaneOpenApiTests.Document>
{
    public static TheoryData<string, string, int[]> Operations => new()
    {
        // The registry's calls also answer 503 while PostgreSQL is unreachable (RegistryDatabaseFilter).
        { "/api/v1/models", "post", [201, 400, 403, 409, 415, 503] },
        { "/api/v1/models", "get", [200, 400, 503] },
        { "/api/v1/models/{model}", "get", [200, 404, 503] },
        { "/api/v1/models/{model}", "patch", [200, 400, 404, 415, 503] },
        { "/api/v1/models/{model}/versions", "post", [201, 400, 404, 413, 415, 422, 503] },
        { "/api/v1/models/{model}/versions", "get", [200, 404, 503] },
        { "/api/v1/models/{model}/versions/{version}", "get", [200, 400, 404, 503] },
        { "/api/v1/models/{model}/versions/{version}/artifact", "get", [200, 400, 404, 500, 503] },
        { "/api/v1/models/{model}/versions/{version}", "delete", [204, 400, 404, 409, 503] },
        { "/api/v1/models/{model}/versions/{version}/stage", "post", [200, 400, 403, 404, 409, 415, 503] },
        { "/api/v1/models/{model}/policy", "get", [200, 404, 503] },
        { "/api/v1/models/{model}/policy", "put", [200, 400, 404, 409, 415, 503] },
        { "/api/v1/models/{model}/versions/{version}/card", "put", [200, 201, 400, 404, 415, 503] },
        { "/api/v1/models/{model}/versions/{version}/card", "get", [200, 400, 404, 503] },
        { "/api/v1/models/{model}/captures", "get", [200, 400, 404, 503] },
        { "/api/v1/keys", "post", [201, 400, 415] },
        { "/api/v1/keys", "get", [200] },
        { "/api/v1/keys/{id}", "get", [200, 400, 404] },
        { "/api/v1/keys/{id}", "delete", [204, 400, 404, 409] },
        { "/api/v1/audit", "get", [200, 400] },
        { "/api/v1/deployments", "get", [200] },
        { "/api/v1/deployments/{model}", "get", [200, 404] },
        { "/api/v1/deployments/{model}", "put", [200, 400, 404, 409, 415, 422] },
        { "/api/v1/deployments/{model}", "delete", [204, 404] },
        { "/api/v1/deployments/{model}/revisions", "get", [200, 404] },
        { "/api/v1/deployments/{model}/promote", "post", [200, 404, 409] },
        { "/api/v1/deployments/{model}/rollback", "post", [200, 404, 409] },
        { "/api/v1/webhooks", "get", [200] },
        { "/api/v1/webhooks/{name}/test", "post", [202, 404] },
        { "/api/v1/webhooks/deliveries", "get", [200, 400] },
        { "/api/v1/webhooks/deliveries/{id}/retry", "post", [200, 400, 404, 409] },
        { "/api/v1/whoami", "get", [200] },
        { "/api/v1/models/{model}/drift", "get", [200, 400, 404, 422] },
        { "/api/v1/models/{model}/drift/history", "get", [200, 400, 404, 422] },
        { "/api/v1/models/{model}/drift/run", "post", [200, 400, 404, 422] },
        { "/api/v1/models/{model}/quality", "get", [200, 400, 404] },
        { "/api/v1/feedback", "post", [200, 400, 403, 404, 415] },
        { "/api/v1/pipelines", "get", [200] },
        { "/api/v1/pipelines/{pipeline}", "get", [200, 400, 404] },
        { "/api/v1/pipelines/{pipeline}", "put", [200, 201, 400, 403, 415] },
        { "/api/v1/pipelines/{pipeline}", "delete", [204, 404] },
        { "/api/v1/pipelines/{pipeline}/revisions", "get", [200, 404] },
        { "/api/v1/teams", "post", [201, 400, 409, 415] },
        { "/api/v1/teams", "get", [200] },
        { "/api/v1/teams/{team}", "get", [200, 404] },
        { "/api/v1/models/{model}/team", "put", [200, 400, 404, 415] },
        { "/api/v1/usage", "get", [200, 400, 403] },
        { "/api/v1/usage/flush", "post", [200] },
        { "/api/v1/keys/{id}/quota", "put", [200, 400, 404, 415] },
        { "/api/v1/teams/{team}/quota", "put", [200, 400, 404, 415] },
    };

    [Theory]
    [MemberData(nameof(Operations))]
    public void Every_status_a_call_answers_is_listed_and_errors_are_problems(string path, string method, int[] statuses)
    {
        var responses = document.Root.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");

        Assert.Equal(statuses.Select(status => status.ToString(System.Globalization.CultureInfo.InvariantCulture)), responses.EnumerateObject().Select(response => response.Name).Order());
        foreach (var response in responses.EnumerateObject().Where(response => response.Name[0] is '4' or '5'))
        {
            Assert.True(response.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{method} {path} {response.Name} is problem+json");
        }
    }

    /// <summary>The document as the orchestrator serves it at <c>/openapi/v1.json</c>, read once.</summary>
    public sealed class Document : IAsyncLifetime
    {
        private JsonDocument? _json;

        public JsonElement Root => _json!.RootElement;

        public async Task InitializeAsync()
        {
            await using var host = await ControlPlaneApiHost.StartAsync();
            _json = JsonDocument.Parse(await host.Client.GetStringAsync("/openapi/v1.json"));
        }

        public Task DisposeAsync()
        {
            _json?.Dispose();
            return Task.CompletedTask;
        }
    }
}
