namespace Hyperion.Gateway.Routing;

/// <summary>The headers every answer carries, put back where YARP cleared a failed response.</summary>
internal static class GatewayResponseHeaders
{
    /// <summary><c>X-Request-Id</c>, and <c>X-Hyperion-Model-Version</c> once the traffic policy chose an arm.</summary>
    public static void Restore(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (context.Request.Headers[RequestIdMiddleware.HeaderName] is { Count: 1 } id)
        {
            headers[RequestIdMiddleware.HeaderName] = id;
        }
        // Read, not needed: on the error path a missing arm costs a header, not the error answer itself.
        if (context.Features.Get<ArmChoice>()?.Arm is { } arm)
        {
            headers[TrafficPolicyStage.VersionHeader] = arm.Target.VersionText;
        }
    }
}
