namespace Hyperion.Gateway.Routing;

/// <summary>
/// <c>X-Request-Id</c>: the client's when it sends one (it reaches the replica and comes back), otherwise a new
/// one. W3C trace context flows separately (ASP.NET Core and YARP propagate <c>traceparent</c>).
/// </summary>
internal sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-Id";
    private const int MaxLength = 200;

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        var id = headers[HeaderName];
        if (id.Count != 1 || string.IsNullOrEmpty(id[0]) || id[0]!.Length > MaxLength)
        {
            // 32 hex digits like a GUID's, from a per-thread generator: Guid.NewGuid reads the kernel's random source, a
            // system call per request.
            id = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
            headers[HeaderName] = id;
        }
        context.Response.Headers[HeaderName] = id;
        return next(context);
    }
}
