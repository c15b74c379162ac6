using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>Turns whatever a REST handler threw into the protocol's error answer; nothing a client sends takes the server down.</summary>
internal static partial class RestFailures
{
    public static Task WriteAsync(HttpContext context, Exception exception, ILogger logger)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (whatever the exception says about it); nobody is left to answer.
            return Task.CompletedTask;
        }
        if (context.Response.HasStarted)
        {
            // Too late for an error body; dropping the connection tells the client the answer is incomplete.
            LogFailedAfterStart(logger, exception, context.Request.Path);
            context.Abort();
            return Task.CompletedTask;
        }
        switch (exception)
        {
            case InferenceException inference:
                if (inference.Kind == InferenceErrorKind.Internal)
                {
                    LogInternal(logger, inference, context.Request.Path);
                }
                return JsonBody.WriteErrorAsync(context, inference);
            case BadHttpRequestException bad:
                return JsonBody.WriteErrorAsync(context, bad.StatusCode, $"the request could not be read: {bad.Message}");
            default:
                LogUnexpected(logger, exception, context.Request.Path);
                return JsonBody.WriteErrorAsync(context, StatusCodes.Status500InternalServerError,
                    "the server failed while handling the request; see the server log");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference failed inside the server for {Path}")]
    private static partial void LogInternal(ILogger logger, Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure handling {Path}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failure after the response to {Path} had started; connection aborted")]
    private static partial void LogFailedAfterStart(ILogger logger, Exception exception, string path);
}
