using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Routing;

/// <summary>What to tell the client when forwarding failed, by YARP's error.</summary>
internal static class ProxyErrorMessages
{
    public static (int Status, string Message) Describe(IForwarderErrorFeature error, int statusSet) => error.Error switch
    {
        ForwarderError.NoAvailableDestinations => (StatusCodes.Status503ServiceUnavailable,
            "no healthy replica can serve this request now; retry shortly"),
        ForwarderError.RequestTimedOut => (StatusCodes.Status504GatewayTimeout,
            "the replica did not answer in time (Gateway:Resilience:UpstreamTimeoutSeconds)"),
        ForwarderError.RequestBodyClient when statusSet == StatusCodes.Status413PayloadTooLarge => (statusSet,
            "the request body is over the gateway's limit (Gateway:MaxRequestBodyBytes)"),
        ForwarderError.RequestBodyClient or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled =>
            (statusSet >= 400 ? statusSet : StatusCodes.Status400BadRequest, "the request body could not be read from the client"),
        _ => (statusSet >= 500 ? statusSet : StatusCodes.Status502BadGateway,
            "the replica failed while handling the request"),
    };
}
