using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway.Shadowing;

/// <summary>One request to copy to the shadow version, with stable's answer to compare with.</summary>
internal sealed record ShadowCopy(
    VersionTarget Target,
    string Path,
    string? ContentType,
    string? InferenceHeaderLength,
    byte[] Body,
    byte[] StableAnswer,
    bool StableAnswerIsJson);
