using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Forwarding;

/// <summary>
/// YARP's client for every cluster: <see cref="OneWriteRequestHandler"/> in front of it, and its metrics recorded only
/// when <see cref="GatewayOptions.ForwarderClientMetrics"/> asks for them.
/// </summary>
internal sealed class GatewayForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger, IOptions<GatewayOptions> options)
    : ForwarderHttpClientFactory(logger)
{
    private readonly bool _metrics = options.Value.ForwarderClientMetrics;

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        if (!_metrics)
        {
            handler.MeterFactory = UnexportedMeters.Instance;
        }
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new OneWriteRequestHandler { InnerHandler = base.WrapHandler(context, handler) };

    /// <summary>
    /// Meters under names nothing subscribes to: SocketsHttpHandler records only into instruments someone listens to,
    /// and the exporter listens to <c>System.Net.Http</c> by name. The pipeline steps' client uses them too.
    /// </summary>
    internal sealed class UnexportedMeters : IMeterFactory
    {
        public static readonly UnexportedMeters Instance = new();

        public Meter Create(MeterOptions options) => new(options.Name + ".Unexported", options.Version, options.Tags, this);

        public void Dispose()
        {
        }
    }
}
