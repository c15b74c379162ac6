using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Metrics;

/// <summary>How a request ended; the <c>outcome</c> label of <c>hyperion_inference_requests_total</c>.</summary>
public enum InferenceOutcome
{
    Success,
    InvalidArgument,
    NotFound,
    Unavailable,
    QueueFull,
    Timeout,
    TooLarge,
    Cancelled,
    Internal,
}

public static class InferenceOutcomes
{
    private static readonly string[] Labels =
        ["success", "invalid_argument", "not_found", "unavailable", "queue_full", "timeout", "too_large", "cancelled", "internal"];

    public static string ToLabel(this InferenceOutcome outcome) => Labels[(int)outcome];

    public static InferenceOutcome FromErrorKind(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => InferenceOutcome.InvalidArgument,
        InferenceErrorKind.NotFound => InferenceOutcome.NotFound,
        InferenceErrorKind.Unavailable => InferenceOutcome.Unavailable,
        InferenceErrorKind.QueueFull => InferenceOutcome.QueueFull,
        InferenceErrorKind.Timeout => InferenceOutcome.Timeout,
        InferenceErrorKind.TooLarge => InferenceOutcome.TooLarge,
        _ => InferenceOutcome.Internal,
    };
}
