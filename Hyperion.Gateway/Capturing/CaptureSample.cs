namespace Hyperion.Gateway.Capturing;

/// <summary>
/// <see cref="CaptureStage"/>'s result: whether the request is captured for model monitoring, so that the shadow's
/// answer to the same request is captured too (under the same request id) and no other. One instance per value.
/// </summary>
internal sealed class CaptureSample
{
    public static CaptureSample Sampled { get; } = new(true);

    public static CaptureSample NotSampled { get; } = new(false);

    private CaptureSample(bool sampled) => IsSampled = sampled;

    public bool IsSampled { get; }
}
