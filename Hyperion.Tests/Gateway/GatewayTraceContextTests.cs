using System.Net;
using Hyperion.Tests.Gateway.Otlp;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// W3C trace context through the gateway, read where a user reads it: the spans every service exports over OTLP
/// (here to a receiver the test runs, as a collector would).
/// </summary>
[Collection(GatewayOneReplicaCollection.Name)]
public sealed class GatewayTraceContextTests(GatewayOneReplicaFixture hyperion)
{
    /// <summary>A replica's span: under the AppHost each replica's telemetry carries its resource's name ("inference-0").</summary>
    private static bool IsInference(ExportedSpan span) => span.Service.StartsWith("inference", StringComparison.Ordinal);

    [Fact]
    public async Task A_callers_trace_continues_through_the_gateway_into_the_replica_that_answered()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "trace");
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var callerSpanId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferAsync(gateway, model, configure: request => request.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Each service exports on its own schedule: wait for the replica's span and the two gateway spans above it.
        var spans = await hyperion.WaitForSpansAsync(
            all => all.Count(s => s.TraceId == traceId && (IsInference(s) && s.Kind == Span.Types.SpanKind.Server || s.Service == "gateway")) >= 3,
            $"the replica's and the gateway's spans of trace {traceId}");
        var trace = spans.Where(s => s.TraceId == traceId).ToList();

        var gatewayServer = Assert.Single(trace, s => s.Service == "gateway" && s.Kind == Span.Types.SpanKind.Server);
        Assert.Equal(callerSpanId, gatewayServer.ParentSpanId); // the caller's span is the gateway's parent
        var replicaServer = Assert.Single(trace, s => IsInference(s) && s.Kind == Span.Types.SpanKind.Server);
        var forward = Assert.Single(trace, s => s.SpanId == replicaServer.ParentSpanId);
        Assert.Equal(("gateway", Span.Types.SpanKind.Client, gatewayServer.SpanId), (forward.Service, forward.Kind, forward.ParentSpanId));
        // The replica's span shows the version the traffic policy chose.
        Assert.Equal($"/v2/models/{model}/versions/1/infer", replicaServer.Attribute("url.path"));
    }

    [Fact]
    public async Task Without_a_traceparent_the_gateway_starts_the_trace_and_the_replica_joins_it()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "trace");
        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferAsync(gateway, model);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Every request to the model (the deployment helper's probes too) is a trace the gateway started.
        var path = $"/v2/models/{model}/versions/1/infer";
        bool Complete(IReadOnlyList<ExportedSpan> all, ExportedSpan replica) =>
            all.FirstOrDefault(s => s.SpanId == replica.ParentSpanId) is { } parent && all.Any(s => s.SpanId == parent.ParentSpanId);
        var spans = await hyperion.WaitForSpansAsync(
            all => all.Where(s => IsInference(s) && s.Attribute("url.path") == path).ToList() is { Count: > 0 } replicas
                && replicas.All(replica => Complete(all, replica)),
            $"the replica's spans for {path} and the two gateway spans above each");
        Assert.All(spans.Where(s => IsInference(s) && s.Attribute("url.path") == path), replicaServer =>
        {
            var forward = spans.Single(s => s.SpanId == replicaServer.ParentSpanId);
            var gatewayServer = spans.Single(s => s.SpanId == forward.ParentSpanId);
            Assert.Equal(("gateway", Span.Types.SpanKind.Client), (forward.Service, forward.Kind));
            Assert.Equal(("gateway", Span.Types.SpanKind.Server, ""), (gatewayServer.Service, gatewayServer.Kind, gatewayServer.ParentSpanId));
            Assert.All([forward, gatewayServer], s => Assert.Equal(replicaServer.TraceId, s.TraceId));
        });
    }

    [Fact]
    public async Task Probes_and_scrapes_are_not_traced_even_when_the_caller_samples_them()
    {
        using var gateway = hyperion.CreateGatewayClient();
        var probeTrace = NewTraceId();
        foreach (var path in new[] { "/health", "/alive", "/metrics" })
        {
            using var probe = new HttpRequestMessage(HttpMethod.Get, path);
            probe.Headers.Add("traceparent", $"00-{probeTrace}-{NewSpanId()}-01");
            using var answer = await gateway.SendAsync(probe);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // The gateway exports its spans in the order they end: once a later request's span has arrived, the probes'
        // would have too.
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "trace");
        var traceId = NewTraceId();
        using var response = await InferAsync(gateway, model, configure: request => request.Headers.Add("traceparent", $"00-{traceId}-{NewSpanId()}-01"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await hyperion.WaitForSpansAsync(
            all => all.Any(s => s.TraceId == traceId && s.Service == "gateway" && s.Kind == Span.Types.SpanKind.Server),
            $"the gateway's span of trace {traceId}");

        Assert.DoesNotContain(spans, s => s.TraceId == probeTrace);
        Assert.DoesNotContain(spans, s => s.Attribute("url.path") is "/health" or "/alive" or "/metrics");
    }

    private static string NewTraceId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    private static string NewSpanId() => Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
}
