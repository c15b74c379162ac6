using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Google.Protobuf;
using Hyperion.Tests.ControlPlane;
using Hyperion.Tests.Gateway.Otlp;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>One exported span, with the service that exported it; ids in lower-case hex ("" for no parent).</summary>
public sealed record ExportedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, Span.Types.SpanKind Kind, IReadOnlyDictionary<string, string> Attributes)
{
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

/// <summary>
/// The gateway graph with one gateway replica that gives up on a replica after <see cref="UpstreamTimeoutSeconds"/>,
/// and every service exporting OTLP over HTTP/protobuf to a receiver started before the graph (as a collector
/// would), flushing spans every 200 ms, and sampling every trace.
/// </summary>
public sealed class GatewayOneReplicaFixture : GatewayFixture, IAsyncLifetime
{
    private WebhookReceiver _collector = null!;

    public const int UpstreamTimeoutSeconds = 2;

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

    protected override IEnumerable<(string Key, string Value)> GatewaySettings() =>
        [.. base.GatewaySettings(), ("Gateway__Resilience__UpstreamTimeoutSeconds", UpstreamTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        base.ConfigureGraph(builder);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            // Where the dashboard would receive them, a collector of the test's own.
            builder.CreateResourceBuilder(project)
                .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", _collector.UrlOf("/").TrimEnd('/'))
                .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
                .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "200")
                // Every trace a service starts is kept (the default keeps one in ten): the tests read each request's.
                .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", "1");
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
public sealed class GatewayOneReplicaCollection : ICollectionFixture<GatewayOneReplicaFixture>
{
    public const string Name = "Gateway, one replica";
}
