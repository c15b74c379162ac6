using Grpc.Core;
using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Protocol;

/// <summary>How each protocol reports an <see cref="InferenceErrorKind"/>.</summary>
internal static class ProtocolErrors
{
    /// <summary>Seconds a client should wait before retrying a request refused because the queue was full.</summary>
    public const string RetryAfterSeconds = "1";

    public static int HttpStatus(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
        InferenceErrorKind.NotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.QueueFull => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        InferenceErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static StatusCode GrpcStatus(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        InferenceErrorKind.NotFound => StatusCode.NotFound,
        InferenceErrorKind.Unavailable => StatusCode.Unavailable,
        InferenceErrorKind.QueueFull => StatusCode.ResourceExhausted,
        InferenceErrorKind.Timeout => StatusCode.DeadlineExceeded,
        InferenceErrorKind.TooLarge => StatusCode.ResourceExhausted,
        _ => StatusCode.Internal,
    };
}
