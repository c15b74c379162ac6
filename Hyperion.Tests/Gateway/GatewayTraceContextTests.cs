using System.Net;
using Google.Protobuf;
using Hyperion.AppHost.Hosting;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway.Otlp;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// W3C trace context through the gateway, read where a user reads it: the spans every service exports over OTLP
/// (here to a receiver the test runs, as a collector would).
/// </summary>
[Collection(GatewayTracingCollection.Name)]
public sealed class GatewayTraceContextTests(GatewayTracingFixture hyperion)
{
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
            all => all.Count(s => s.TraceId == traceId && (s.Service == "inference" && s.Kind == Span.Types.SpanKind.Server || s.Service == "gateway")) >= 3,
            $"the replica's and the gateway's spans of trace {traceId}");
        var trace = spans.Where(s => s.TraceId == traceId).ToList();

        var gatewayServer = Assert.Single(trace, s => s.Service == "gateway" && s.Kind == Span.Types.SpanKind.Server);
        Assert.Equal(callerSpanId, gatewayServer.ParentSpanId); // the caller's span is the gateway's parent
        var replicaServer = Assert.Single(trace, s => s.Service == "inference" && s.Kind == Span.Types.SpanKind.Server);
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
            all => all.Where(s => s.Service == "inference" && s.Attribute("url.path") == path).ToList() is { Count: > 0 } replicas
                && replicas.All(replica => Complete(all, replica)),
            $"the replica's spans for {path} and the two gateway spans above each");
        Assert.All(spans.Where(s => s.Service == "inference" && s.Attribute("url.path") == path), replicaServer =>
        {
            var forward = spans.Single(s => s.SpanId == replicaServer.ParentSpanId);
            var gatewayServer = spans.Single(s => s.SpanId == forward.ParentSpanId);
            Assert.Equal(("gateway", Span.Types.SpanKind.Client), (forward.Service, forward.Kind));
            Assert.Equal(("gateway", Span.Types.SpanKind.Server, ""), (gatewayServer.Service, gatewayServer.Kind, gatewayServer.ParentSpanId));
            Assert.All([forward, gatewayServer], s => Assert.Equal(replicaServer.TraceId, s.TraceId));
        });
    }
}

/// <summary>One exported span, with the service that exported it; ids in lower-case hex ("" for no parent).</summary>
public sealed record ExportedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, Span.Types.SpanKind Kind, IReadOnlyDictionary<string, string> Attributes)
{
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

/// <summary>
/// The gateway graph (one gateway replica) with every service exporting OTLP over HTTP/protobuf to a receiver
/// started before the graph, flushing spans every 200 ms.
/// </summary>
public sealed class GatewayTracingFixture : GatewayFixture, IAsyncLifetime
{
    private WebhookReceiver _collector = null!;

    protected override int GatewayReplicas => 1;

    async Task IAsyncLifetime.InitializeAsync()
    {
        _collector = await WebhookReceiver.StartAsync();
        try
        {
            await InitializeAsync();
        }
        catch
        {
            await _collector.DisposeAsync();
            throw;
        }
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _collector.DisposeAsync();
    }

    protected override void Configure(IDictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = _collector.UrlOf("/");
    }

    protected override void ConfigureGraph(IDistributedApplicationBuilder builder)
    {
        base.ConfigureGraph(builder);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.CreateResourceBuilder(project)
                .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "200");
        }
    }

    /// <summary>Every span exported so far, once <paramref name="until"/> holds for them.</summary>
    public async Task<IReadOnlyList<ExportedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ExportedSpan>, bool> until, string what)
    {
        IReadOnlyList<ExportedSpan> spans = [];
        await WaitUntilAsync(() =>
        {
            spans = [.. _collector.ReceivedOn("/v1/traces").SelectMany(export => Parse(export.Body))];
            return Task.FromResult(until(spans));
        }, TimeSpan.FromSeconds(30), what);
        return spans;
    }

    private static IEnumerable<ExportedSpan> Parse(byte[] body)
    {
        foreach (var resource in ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans)
        {
            var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
            foreach (var span in resource.ScopeSpans.SelectMany(scope => scope.Spans))
            {
                yield return new ExportedSpan(service, Hex(span.TraceId), Hex(span.SpanId), Hex(span.ParentSpanId), span.Name, span.Kind,
                    span.Attributes.Where(a => a.Value?.ValueCase == AnyValue.ValueOneofCase.StringValue)
                        .ToDictionary(a => a.Key, a => a.Value.StringValue));
            }
        }
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}

[CollectionDefinition(Name)]
public sealed class GatewayTracingCollection : ICollectionFixture<GatewayTracingFixture>
{
    public const string Name = "Gateway tracing";
}
