namespace Hyperion.Contracts.Inference;

/// <summary>What went wrong with a request, in terms every protocol front end can map to its own status codes.</summary>
public enum InferenceErrorKind
{
    /// <summary>The request is malformed or does not match the model (HTTP 400, gRPC InvalidArgument).</summary>
    InvalidArgument,
    /// <summary>Unknown model or version (HTTP 404, gRPC NotFound).</summary>
    NotFound,
    /// <summary>The model exists but is not ready (HTTP 503, gRPC Unavailable).</summary>
    Unavailable,
    /// <summary>The model's queue is full; the client should retry later (HTTP 503 + Retry-After, gRPC ResourceExhausted).</summary>
    QueueFull,
    /// <summary>The request's timeout passed before it ran (HTTP 504, gRPC DeadlineExceeded).</summary>
    Timeout,
    /// <summary>The body is larger than the server accepts (HTTP 413, gRPC ResourceExhausted).</summary>
    TooLarge,
    /// <summary>The backend failed while running the model (HTTP 500, gRPC Internal).</summary>
    Internal,
}

public sealed class InferenceException(InferenceErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public InferenceErrorKind Kind { get; } = kind;

    public static InferenceException Invalid(string message) => new(InferenceErrorKind.InvalidArgument, message);
}
