using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Routing;

/// <summary>How one routed request ended, for the arm's statistics and metrics: <see cref="Error"/> is what the rollout gates count.</summary>
internal enum ArmOutcome
{
    Success,
    ClientError,
    Error,
}

internal static class ArmOutcomes
{
    /// <summary>
    /// From the forwarding error, the HTTP status, and for gRPC the <c>grpc-status</c> (a failed call is HTTP 200:
    /// the status travels in the trailers, or in the headers of a trailers-only answer). Server-side gRPC codes count
    /// as errors as 5xx do; the caller's mistakes (invalid argument, not found, ...) as client errors.
    /// </summary>
    public static ArmOutcome Of(HttpContext context, PathShape shape)
    {
        if (context.Features.Get<IForwarderErrorFeature>() is not null)
        {
            return ArmOutcome.Error;
        }
        if (OfStatus(context.Response.StatusCode) is not ArmOutcome.Success and var byStatus)
        {
            return byStatus;
        }
        if (shape != PathShape.Grpc || GrpcStatusOf(context) is not { } code || code == 0)
        {
            return ArmOutcome.Success;
        }
        return code is Unknown or DeadlineExceeded or Unimplemented or Internal or Unavailable or DataLoss
            ? ArmOutcome.Error
            : ArmOutcome.ClientError;
    }

    /// <summary>By the HTTP status alone: 5xx an error, 4xx the caller's.</summary>
    public static ArmOutcome OfStatus(int status) =>
        status >= 500 ? ArmOutcome.Error : status >= 400 ? ArmOutcome.ClientError : ArmOutcome.Success;

    private const int Unknown = 2;
    private const int DeadlineExceeded = 4;
    private const int Unimplemented = 12;
    private const int Internal = 13;
    private const int Unavailable = 14;
    private const int DataLoss = 15;

    private static int? GrpcStatusOf(HttpContext context)
    {
        var value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { } trailers && trailers.TryGetValue("grpc-status", out var trailer)
            ? trailer
            : context.Response.Headers["grpc-status"];
        return int.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
    }
}
