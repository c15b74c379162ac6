namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// The Redis stream by which gateways hand sampled inference traffic to the orchestrator (model monitoring, issue
/// #16). Each entry is one answered request of one arm, with these fields:
/// <list type="table">
/// <item><term><c>model</c>, <c>version</c>, <c>arm</c></term><description>who answered (<c>stable</c>, <c>canary</c> or <c>shadow</c>)</description></item>
/// <item><term><c>request_id</c></term><description>the <c>X-Request-Id</c> the gateway answered with (a shadow copy has its request's)</description></item>
/// <item><term><c>captured_at</c></term><description>when the answer was complete, Unix milliseconds</description></item>
/// <item><term><c>request</c>, <c>response</c></term><description>the Open Inference Protocol JSON bodies, as sent</description></item>
/// </list>
/// Gateways trim it to about their <c>Gateway:Capturing:StreamMaxLength</c>; the orchestrator's replicas read it as one
/// consumer group and acknowledge an entry once its row is stored (or it was found unreadable).
/// </summary>
public static class CaptureStream
{
    public const string Key = "hyperion:captures";

    public const string ConsumerGroup = "orchestrators";

    public const string Model = "model";
    public const string Version = "version";
    public const string Arm = "arm";
    public const string RequestId = "request_id";
    public const string CapturedAt = "captured_at";
    public const string Request = "request";
    public const string Response = "response";
}
