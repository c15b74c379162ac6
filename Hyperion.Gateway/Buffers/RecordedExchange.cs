using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Buffers;

/// <summary>
/// The request body and the answer of one forwarded request, copied once as they stream past, for every stage that
/// wants them after the client has its answer (capture for monitoring, the shadow copy). The first such stage wraps
/// the bodies; a later one finds the recording in the request's features and reads the same bytes, so a request that
/// is both captured and shadowed is buffered once.
/// </summary>
internal sealed class RecordedExchange : IDisposable
{
    private readonly CapturingReadStream _request;
    private readonly CapturingWriteStream _answer;
    private byte[]? _requestBytes;
    private byte[]? _answerBytes;

    private RecordedExchange(HttpContext context, int limit)
    {
        _request = new CapturingReadStream(context.Request.Body, limit);
        _answer = new CapturingWriteStream(context.Response.Body, limit);
    }

    /// <summary>The request body; shared by every reader, so nobody may change it.</summary>
    public byte[] Request => _requestBytes ??= _request.Captured.ToArray();

    /// <summary>The answer's body; shared by every reader, so nobody may change it.</summary>
    public byte[] Answer => _answerBytes ??= _answer.Captured.ToArray();

    /// <summary>Whether both bodies were copied whole and each is at most <paramref name="maxBytes"/> long.</summary>
    public bool Fits(int maxBytes) =>
        _request.Complete && _answer.Complete && _request.Captured.Length <= maxBytes && _answer.Captured.Length <= maxBytes;

    /// <summary>
    /// Runs <paramref name="next"/> with the request's bodies recorded, or joins the recording an earlier stage made;
    /// returns it once the client has a 200 from a replica, null otherwise (nothing worth copying). Read it before the
    /// stage returns: it is disposed with the request.
    /// </summary>
    public static async Task<RecordedExchange?> ForwardAsync(HttpContext context, RequestDelegate next, GatewayOptions options)
    {
        if (context.Features.Get<RecordedExchange>() is { } earlier)
        {
            await next(context);
            return Answered(context) ? earlier : null;
        }

        var originalBody = context.Request.Body;
        var originalResponse = context.Response.Body;
        var recording = new RecordedExchange(context, Math.Max(options.Capturing.MaxBodyBytes, options.Shadowing.MaxBodyBytes));
        context.Request.Body = recording._request;
        context.Response.Body = recording._answer;
        context.Features.Set(recording);
        // Its pooled buffers go back when the request ends, after every stage that read it.
        context.Response.RegisterForDispose(recording);
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Body = originalBody;
            context.Response.Body = originalResponse;
            context.Features.Set<RecordedExchange>(null);
        }
        return Answered(context) ? recording : null;
    }

    public void Dispose()
    {
        _request.Dispose();
        _answer.Dispose();
    }

    private static bool Answered(HttpContext context) =>
        context.Response.StatusCode == StatusCodes.Status200OK && context.Features.Get<IForwarderErrorFeature>() is null;
}
