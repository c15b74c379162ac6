using System.Net;
using System.Text.Json;
using Hyperion.Orchestrator.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Every error the control plane answers is problem+json, an unexpected exception included (never an empty 500).</summary>
public sealed class ProblemAnswersTests
{
    [Fact]
    public async Task An_unexpected_exception_is_a_logged_500_problem_with_a_trace_id()
    {
        await using var host = await ControlPlaneApiHost.StartAsync(app =>
            app.MapGet("/boom", IResult () => throw new InvalidOperationException("the handler broke")));

        using var response = await host.Client.GetAsync("/boom");

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(500, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(ProblemAnswers.UnexpectedDetail, problem.RootElement.GetProperty("detail").GetString());
        var traceId = problem.RootElement.GetProperty("trace_id").GetString();
        Assert.False(string.IsNullOrEmpty(traceId));
        Assert.False(problem.RootElement.TryGetProperty("traceId", out _), "one trace id, in the API's snake_case");
        Assert.DoesNotContain("the handler broke", body);
        Assert.Contains(host.Logs.Lines, line => line.StartsWith("Error:", StringComparison.Ordinal) && line.EndsWith("the handler broke", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bare_status_is_a_problem_too()
    {
        await using var host = await ControlPlaneApiHost.StartAsync();

        using var response = await host.Client.GetAsync("/no/such/route");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
