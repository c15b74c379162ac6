using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Forwarding;

/// <summary>YARP's client for every cluster, with <see cref="OneWriteRequestHandler"/> in front of it.</summary>
internal sealed class GatewayForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new OneWriteRequestHandler { InnerHandler = base.WrapHandler(context, handler) };
}
