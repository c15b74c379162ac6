using System.Net.Http;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Gateway.Resilience;

/// <summary>
/// Proxy stage in front of load balancing: when connecting to the chosen replica failed, nothing of the request
/// was sent, so it is safe to send it to another one; up to <see cref="ResilienceOptions.ConnectRetries"/> others.
/// Any other failure (the replica got the request) is not repeated: inference is not known to be idempotent.
/// </summary>
internal sealed class ConnectRetryStage(RequestDelegate next, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    private readonly int _retries = options.Value.Resilience.ConnectRetries;

    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.GetReverseProxyFeature();
        // With one replica there is no other to try: no state machine to keep around the forward.
        return _retries > 0 && feature.AvailableDestinations.Count > 1 ? ForwardWithRetriesAsync(context, feature) : next(context);
    }

    private async Task ForwardWithRetriesAsync(HttpContext context, IReverseProxyFeature feature)
    {
        var candidates = feature.AvailableDestinations;
        await next(context);
        for (var attempt = 0; attempt < _retries && IsConnectFailure(context) && !context.Response.HasStarted; attempt++)
        {
            var failed = feature.ProxiedDestination;
            var remaining = new List<DestinationState>(candidates.Count);
            foreach (var destination in candidates)
            {
                if (!ReferenceEquals(destination, failed))
                {
                    remaining.Add(destination);
                }
            }
            if (remaining.Count == 0)
            {
                return;
            }
            candidates = remaining;
            metrics.ConnectRetry();
            // Back to the state before forwarding: YARP forwards only a response that is not set yet.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status200OK;
            GatewayResponseHeaders.Restore(context);
            feature.AvailableDestinations = remaining;
            await next(context);
        }
    }

    private static bool IsConnectFailure(HttpContext context) =>
        context.Features.Get<IForwarderErrorFeature>() is { Error: ForwarderError.Request, Exception: var exception }
        && FindConnectError(exception);

    private static bool FindConnectError(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                return true;
            }
        }
        return false;
    }
}
