using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Bad deployment requests get the right status and a problem+json that says what was wrong; nothing is written.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class DeploymentBadInputTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Unknown_model_is_404()
    {
        using var api = hyperion.CreateApiClient();
        using var response = await PutAsync(api, "no-such-model-anywhere", """{"stable": 1}""");
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("'no-such-model-anywhere' is not registered", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Missing_versions_are_422_naming_them_and_the_existing_ones()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "missing", versions: 2);
        using var response = await PutAsync(api, model, """{"stable": 1, "canary": {"version": 7, "percent": 10}, "shadow": {"version": 9}}""");
        var detail = (await RegistryTestData.ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
        Assert.Equal($"Model '{model}' has no versions 7, 9; its versions are 1, 2.", detail);
        await AssertNoDeploymentAsync(api, model);
    }

    [Fact]
    public async Task A_model_without_versions_says_how_to_upload_one()
    {
        using var api = hyperion.CreateApiClient();
        var model = RegistryTestData.UniqueName("empty");
        await RegistryTestData.CreateModelAsync(api, model);
        using var response = await PutAsync(api, model, """{"stable": 1}""");
        var detail = (await RegistryTestData.ProblemAsync(response, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
        Assert.Contains($"has no version 1; it has no versions yet; upload one with POST /api/v1/models/{model}/versions", detail);
    }

    [Fact]
    public async Task Overrides_that_do_not_fit_a_version_are_422_naming_the_version_and_what_would_fit()
    {
        using var api = hyperion.CreateApiClient();
        // Version 1 batches (max_batch_size completed from the artifact); version 2 was uploaded without a batch dimension.
        var model = await RegisterDigitsAsync(api, "overrides", versions: 2, configOf: version => version == 2 ? """{"max_batch_size": 0}""" : null);
        var max = (await api.GetFromJsonAsync<JsonElement>($"/api/v1/models/{model}/versions/1")).GetProperty("config").GetProperty("max_batch_size").GetInt32();
        Assert.True(max > 0);

        using (var tooLarge = await PutAsync(api, model, $$$"""{"stable": 1, "batching": {"preferred_batch_size": [{{{max * 16}}}]}}"""))
        {
            var detail = (await RegistryTestData.ProblemAsync(tooLarge, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
            Assert.Contains($"batching.preferred_batch_size {max * 16} does not fit version 1: it is over its max_batch_size {max}", detail);
        }
        using (var unbatched = await PutAsync(api, model, """{"stable": 1, "canary": {"version": 2, "percent": 10}, "batching": {"max_queue_delay_microseconds": 100}}"""))
        {
            var detail = (await RegistryTestData.ProblemAsync(unbatched, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
            Assert.Contains("batching does not fit version 2: it has no batch dimension", detail);
            Assert.DoesNotContain("version 1", detail);
        }
        using (var batchDimension = await PutAsync(api, model, """{"stable": 2, "max_batch_size": 8}"""))
        {
            var detail = (await RegistryTestData.ProblemAsync(batchDimension, HttpStatusCode.UnprocessableEntity)).GetProperty("detail").GetString();
            Assert.Contains("max_batch_size 8 does not fit version 2: it has no batch dimension (its max_batch_size is 0), so it must stay 0", detail);
        }
        await AssertNoDeploymentAsync(api, model);

        // Raising max_batch_size in the same spec makes the preferred size fit.
        var deployed = await PutOkAsync(api, model, $$$"""{"stable": 1, "max_batch_size": {{{max * 16}}}, "batching": {"preferred_batch_size": [{{{max * 16}}}]}}""");
        Assert.Equal(1, deployed["stable"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": 150}}""", "canary.percent", "must be between 0 and 100, got 150")]
    [InlineData("""{"stable": 1, "canary": {"version": 1, "percent": 10}}""", "canary.version", "must differ from stable (1)")]
    [InlineData("""{"stable": 1, "shadow": {"version": 1}}""", "shadow.version", "must differ from stable (1)")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10, 5, 100]}}""", "canary.steps", "must increase, got 5 after 10")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [0, 50]}}""", "canary.steps", "must be percents in 1..100, got 0")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": 10, "step_seconds": 5}}""", "canary", "step_seconds, min_requests, max_error_rate_delta, max_p95_latency_ratio, max_accuracy_drop, min_agreement and min_quality_samples belong to a canary plan")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [50], "percent": 10}}""", "canary.percent", "must be left out with a plan")]
    [InlineData("""{"stable": 1, "cache": {"enabled": true, "ttl_seconds": 0}}""", "cache.ttl_seconds", "must be 1 or more, got 0")]
    [InlineData("""{"stable": 1, "replicas": 0}""", "replicas", "must be 1 or more")]
    [InlineData("""{"stable": 1, "instances": {"count": 2, "kind": "tpu"}}""", "instances.kind", "must be \"cpu\" or \"gpu\", got \"tpu\"")]
    [InlineData("""{"canary": {"version": 2, "percent": 10}}""", "stable", "is required")]
    [InlineData("""{"stable": 0}""", "stable", "must be a version number (1 or more), got 0")]
    [InlineData("""{"stable": 1, "monitoring": {"sample_percent": 120}}""", "monitoring.sample_percent", "must be between 0 and 100, got 120")]
    [InlineData("""{"stable": 1, "monitoring": {"retention_days": 0}}""", "monitoring.retention_days", "must be 1 or more, got 0")]
    [InlineData("""{"stable": 1, "monitoring": {"redact": [""]}}""", "monitoring.redact", "must list input or output names (non-empty strings)")]
    [InlineData("""{"stable": 1, "monitoring": {"drift": {"psi_threshold": 0}}}""", "monitoring.drift.psi_threshold", "must be a number above 0 (0.2 is usual), got 0")]
    [InlineData("""{"stable": 1, "monitoring": {"drift": {"drifted_share": 1.5}}}""", "monitoring.drift.drifted_share", "must be between 0 and 1, got 1.5")]
    public async Task Invalid_specs_are_400_with_the_field_and_what_was_expected(string spec, string field, string message)
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "invalid", versions: 2);
        using var response = await PutAsync(api, model, spec);
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.BadRequest);
        var messages = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(messages, m => m.Contains(message, StringComparison.Ordinal));
        Assert.Contains(field + " " + message, problem.GetProperty("detail").GetString());
        await AssertNoDeploymentAsync(api, model);
    }

    [Theory]
    [InlineData("""{"stable": 1,""", "the body is not valid JSON")]
    [InlineData("", "the body is not valid JSON")]
    [InlineData("""{"stable": "one"}""", "$.stable has the wrong type: expected a whole number.")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "percent": "ten"}}""", "$.canary.percent has the wrong type: expected a number.")]
    [InlineData("""{"stable": 1, "canery": {"version": 2, "percent": 10}}""", "unknown field 'canery' at $.canery")]
    [InlineData("""[1]""", "$ has the wrong type: expected a JSON object")]
    [InlineData("null", "the body is JSON null")]
    public async Task Malformed_bodies_are_400_saying_where(string body, string detail)
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterDigitsAsync(api, "malformed", versions: 2);
        using var response = await PutAsync(api, model, body);
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        await AssertNoDeploymentAsync(api, model);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415()
    {
        using var api = hyperion.CreateApiClient();
        using var response = await api.PutAsync("/api/v1/deployments/anything", new StringContent("stable=1", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("Content-Type: application/json", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_deployments_are_404()
    {
        using var api = hyperion.CreateApiClient();
        foreach (var path in new[] { "/api/v1/deployments/nothing-here", "/api/v1/deployments/nothing-here/revisions" })
        {
            using var response = await api.GetAsync(path);
            var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.NotFound);
            Assert.Contains("has no deployment", problem.GetProperty("detail").GetString());
        }
        using var delete = await api.DeleteAsync("/api/v1/deployments/nothing-here");
        await RegistryTestData.ProblemAsync(delete, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deployments_need_a_key()
    {
        using var anonymous = hyperion.CreateHttpClient("orchestrator");
        using var response = await PutAsync(anonymous, "digits", """{"stable": 1}""");
        await RegistryTestData.ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_malformed_replica_report_is_400_and_registers_nothing()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        using var response = await client.PutAsync("/internal/v1/replicas/bogus-replica", new StringContent(
            """{"pool": "cpu", "http_url": "not a url", "started_at": "2026-01-01T00:00:00Z", "models": []}""", Encoding.UTF8, "application/json"));
        var problem = await RegistryTestData.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("http_url must be an absolute http(s) URL", problem.GetProperty("detail").GetString());
        var routing = await RoutingAsync(hyperion);
        Assert.DoesNotContain(routing["replicas"]!.AsArray(), replica => replica!["id"]!.GetValue<string>() == "bogus-replica");
    }

    [Fact]
    public async Task The_openapi_document_describes_the_deployment_calls()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        var document = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        var deployment = document["paths"]!["/api/v1/deployments/{model}"]!;
        Assert.NotNull(deployment["get"]);
        Assert.NotNull(deployment["delete"]);
        Assert.NotNull(deployment["put"]!["requestBody"]!["content"]!["application/json"]!["schema"]);
        Assert.NotNull(document["paths"]!["/api/v1/deployments/{model}/revisions"]!["get"]);
        Assert.NotNull(document["paths"]!["/api/v1/deployments"]);
    }

    private static async Task AssertNoDeploymentAsync(HttpClient api, string model)
    {
        using var response = await api.GetAsync($"/api/v1/deployments/{model}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
