namespace Hyperion.Gateway.Capturing;

/// <summary>One answered inference request of one arm, waiting to be written to the capture stream.</summary>
/// <param name="CapturedAt">When the answer was complete, Unix milliseconds.</param>
internal sealed record CapturedExchange(
    string Model,
    string Version,
    string Arm,
    string RequestId,
    long CapturedAt,
    byte[] Request,
    byte[] Response);
