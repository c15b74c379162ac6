using System.Text;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Keys;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The control plane's one body reader: each mistake has one wording, naming where it is and what was expected.</summary>
public sealed class JsonBodyTests
{
    [Fact]
    public async Task A_body_that_is_not_json_is_415_saying_what_to_send()
    {
        var (value, problem) = await JsonBody.ReadAsync<DeploymentRequest>(Request("stable=1", "application/x-www-form-urlencoded"), DeploymentRequest.Example, default);

        Assert.Null(value);
        Assert.Equal(StatusCodes.Status415UnsupportedMediaType, problem!.StatusCode);
        Assert.Equal(
            """send the body as JSON with 'Content-Type: application/json', such as {"stable": 1}; got Content-Type 'application/x-www-form-urlencoded'.""",
            problem.Value.Detail);
    }

    [Theory]
    [InlineData("{\"stable\": 1,", "the body is not valid JSON at line 1, byte 13: ")]
    [InlineData("{\n  \"stable\": 1\n  \"canary\": {}\n}", "the body is not valid JSON at line 3, byte 3: ")]
    [InlineData("", "the body is not valid JSON at line 1, byte 1: ")]
    public async Task Json_that_does_not_parse_is_400_naming_the_line_and_byte(string body, string start)
    {
        var detail = await ProblemAsync<DeploymentRequest>(body, DeploymentRequest.Example);

        Assert.StartsWith(start, detail);
        Assert.EndsWith("""; expected {"stable": 1}.""", detail);
        Assert.DoesNotContain("Path:", detail);
    }

    [Theory]
    [InlineData("""{"stable": "one"}""", "$.stable has the wrong type: expected a whole number.")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": [10, "x"]}}""", "$.canary.steps[1] has the wrong type: expected a number.")]
    [InlineData("""{"stable": 1, "canary": {"version": 2, "steps": 10}}""", "$.canary.steps has the wrong type: expected an array whose items are each a number.")]
    [InlineData("""{"stable": 1, "cache": 5}""", "$.cache has the wrong type: expected a JSON object with the fields enabled, ttl_seconds.")]
    [InlineData("""{"stable": 1, "cache": {"enabled": "yes"}}""", "$.cache.enabled has the wrong type: expected true or false.")]
    [InlineData("""[1]""", """$ has the wrong type: expected a JSON object such as {"stable": 1}.""")]
    [InlineData("null", """the body is JSON null; expected {"stable": 1}.""")]
    public async Task A_value_of_the_wrong_type_is_400_naming_its_path_and_the_json_expected(string body, string detail)
    {
        Assert.Equal(detail, await ProblemAsync<DeploymentRequest>(body, DeploymentRequest.Example));
    }

    [Theory]
    [InlineData(
        """{"stable": 1, "canery": {"version": 2}}""",
        """unknown field 'canery' at $.canery (the fields there are stable, canary, shadow, cache, batching, max_batch_size, instances, pool, replicas, monitoring); expected {"stable": 1}.""")]
    [InlineData(
        """{"stable": 1, "canary": {"version": 2, "percnt": 10}}""",
        """unknown field 'percnt' at $.canary.percnt (the fields there are version, percent, steps, step_seconds, min_requests, max_error_rate_delta, max_p95_latency_ratio, max_accuracy_drop, min_agreement, min_quality_samples); expected {"stable": 1}.""")]
    public async Task An_unknown_field_is_400_naming_it_and_the_fields_beside_it(string body, string detail)
    {
        Assert.Equal(detail, await ProblemAsync<DeploymentRequest>(body, DeploymentRequest.Example));
    }

    [Fact]
    public async Task A_time_that_is_not_one_says_the_format()
    {
        var detail = await ProblemAsync<CreateKeyRequest>("""{"name": "ci", "scopes": ["infer"], "expires_at": "next tuesday"}""", CreateKeyRequest.Expected);

        Assert.Equal("""$.expires_at has the wrong type: expected a time in ISO 8601 such as "2030-01-01T00:00:00Z".""", detail);
    }

    [Theory]
    [InlineData("[1]", """$ has the wrong type: expected a JSON object such as {"name": "x"}.""")]
    [InlineData("null", """the body is JSON null; expected {"name": "x"}.""")]
    [InlineData("{\"name\": ", "the body is not valid JSON at line 1, byte 10: ")]
    public async Task An_object_read_field_by_field_has_the_same_wording(string body, string start)
    {
        var (value, problem) = await JsonBody.ReadObjectAsync(Request(body), """{"name": "x"}""", default);

        Assert.Null(value);
        Assert.Equal(StatusCodes.Status400BadRequest, problem!.StatusCode);
        Assert.StartsWith(start, problem.Value.Detail);
    }

    [Fact]
    public async Task A_good_body_is_read()
    {
        var (value, problem) = await JsonBody.ReadAsync<DeploymentRequest>(
            Request("""{"stable": 2, "canary": {"version": 3, "steps": [10, 50]}}""", "application/json; charset=utf-8"), DeploymentRequest.Example, default);

        Assert.Null(problem);
        Assert.Equal(2, value!.Stable);
        Assert.Equal([10.0, 50.0], value.Canary!.Steps);
    }

    [Theory]
    [InlineData("$", new string?[0])]
    [InlineData("$.canary.steps[1]", new[] { "canary", "steps", null })]
    [InlineData("$['odd.name'].x[0][2]", new[] { "odd.name", "x", null, null })]
    public void Paths_split_into_names_and_indexes(string path, string?[] segments)
    {
        Assert.Equal(segments, JsonPath.Segments(path));
    }

    private static async Task<string?> ProblemAsync<T>(string body, string example)
        where T : class
    {
        var (value, problem) = await JsonBody.ReadAsync<T>(Request(body), example, default);
        Assert.Null(value);
        Assert.Equal(StatusCodes.Status400BadRequest, problem!.StatusCode);
        return problem.Value.Detail;
    }

    private static HttpRequest Request(string body, string contentType = "application/json")
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        return context.Request;
    }
}
