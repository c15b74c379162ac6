using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway.Shadowing;

/// <summary>One request to copy to the shadow version, with stable's answer to compare with.</summary>
/// <param name="CaptureAs">The request id under which the shadow's answer is captured for model monitoring, when stable's is; null otherwise.</param>
internal sealed record ShadowCopy(
    VersionTarget Target,
    string Path,
    string? ContentType,
    string? InferenceHeaderLength,
    byte[] Body,
    byte[] StableAnswer,
    bool StableAnswerIsJson,
    string? CaptureAs = null);
