using System.Net;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway;
using Hyperion.Tests.Gateway.Otlp;
using static Hyperion.Tests.Pipelines.PipelineTestApi;

namespace Hyperion.Tests.Pipelines;

/// <summary>A pipeline call is one trace: the gateway's span for the call, one span per step under it, and each step's replica call under its step.</summary>
[Collection(GatewayOneReplicaCollection.Name)]
public sealed class PipelineTracingTests(GatewayOneReplicaFixture hyperion)
{
    private const string Request = """{"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""";

    [Fact]
    public async Task A_call_is_one_trace_with_a_span_per_step_above_its_replica_call()
    {
        using var api = hyperion.CreateApiClient();
        var model = await RegisterAsync(api, "identity_fp32", "pipe-trace");
        await DeployAsync(hyperion, model, """{"stable": 1}""", Request);
        var pipeline = RegistryTestData.UniqueName("traced");
        await PutOkAsync(api, pipeline, $$$"""{"steps": [{"name": "first", "model": "{{{model}}}"}, {"name": "second", "model": "{{{model}}}", "inputs": {"INPUT0": "first.OUTPUT0"}}]}""", HttpStatusCode.Created);

        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var callerSpanId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        using var gateway = hyperion.CreateGatewayClient();
        using var response = await InferRoutedAsync(gateway, pipeline, () => Json(Request), request => request.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var spans = await hyperion.WaitForSpansAsync(
            all => all.Count(s => s.TraceId == traceId && s.Service.StartsWith("inference", StringComparison.Ordinal) && s.Kind == Span.Types.SpanKind.Server) >= 2
                && all.Any(s => s.TraceId == traceId && s.Name == $"pipeline {pipeline}"),
            $"the pipeline's and its steps' spans of trace {traceId}");
        var trace = spans.Where(s => s.TraceId == traceId).ToList();
        var call = Assert.Single(trace, s => s.Name == $"pipeline {pipeline}");
        Assert.Equal("gateway", call.Service);
        Assert.Equal(pipeline, call.Attribute("hyperion.pipeline"));
        foreach (var step in new[] { "first", "second" })
        {
            var stepSpan = Assert.Single(trace, s => s.Name == $"pipeline step {step}");
            Assert.Equal(call.SpanId, stepSpan.ParentSpanId);
            Assert.Equal("1", stepSpan.Attribute("hyperion.model.version"));
            // The step's call to its replica, and the replica's own span, below it.
            var client = Assert.Single(trace, s => s.ParentSpanId == stepSpan.SpanId && s.Kind == Span.Types.SpanKind.Client);
            Assert.Contains(trace, s => s.ParentSpanId == client.SpanId && s.Service.StartsWith("inference", StringComparison.Ordinal));
        }
    }
}
