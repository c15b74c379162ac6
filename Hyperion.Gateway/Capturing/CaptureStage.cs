using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Capturing;

/// <summary>
/// Proxy stage: for an Open Inference Protocol JSON inference request to a stable or canary arm whose deployment
/// monitors its traffic (sampled by the deployment's <c>sample_percent</c>), copies the request body as it streams
/// to the replica and the answer as it streams back, and once the client has a 200 queues both for
/// <see cref="CaptureWriter"/>. Nothing here waits for Redis or changes what the client gets. Binary-extension and
/// gRPC requests are counted, not captured: the orchestrator reads tensors from JSON.
/// </summary>
internal sealed class CaptureStage(RequestDelegate next, CaptureWriter writer, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    /// <summary>The binary extension's marker: the length of the JSON header before the raw tensor bytes.</summary>
    private const string BinaryHeaderLength = "Inference-Header-Content-Length";

    private readonly GatewayOptions _options = options.Value;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Need<ArmChoice>(nameof(CaptureStage)).Arm is not { Arm: ArmStatisticsKeys.Stable or ArmStatisticsKeys.Canary } arm
            || arm.Policy.CaptureBasisPoints == 0)
        {
            context.Features.Set(CaptureSample.NotSampled);
            return next(context);
        }
        var request = context.Need<RequestClassification>(nameof(CaptureStage));
        if (request.Kind != RequestKind.Infer || !ArmSelector.SampleCapture(arm.Policy))
        {
            context.Features.Set(CaptureSample.NotSampled);
            return next(context);
        }
        if (request.Shape != PathShape.V2Model || context.Request.Headers.ContainsKey(BinaryHeaderLength))
        {
            metrics.Capture(request.Shape switch
            {
                PathShape.Grpc => "skipped_grpc",
                PathShape.V2Model => "skipped_binary",
                _ => "skipped_v1",
            });
            context.Features.Set(CaptureSample.NotSampled);
            return next(context);
        }
        context.Features.Set(CaptureSample.Sampled);
        return ForwardAndCaptureAsync(context, arm);
    }

    private async Task ForwardAndCaptureAsync(HttpContext context, RoutedArm arm)
    {
        if (await RecordedExchange.ForwardAsync(context, next, _options) is not { } exchange)
        {
            return;
        }
        if (context.Response.Headers.ContainsKey(BinaryHeaderLength)
            || context.Response.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) != true)
        {
            // The client asked for binary outputs (binary_data_output): the request was JSON, the answer is not.
            metrics.Capture("skipped_binary");
            return;
        }
        if (!exchange.Fits(_options.Capturing.MaxBodyBytes))
        {
            metrics.Capture("too_large");
            return;
        }
        writer.TryEnqueue(new CapturedExchange(
            arm.Target.Model,
            arm.Target.VersionText,
            arm.Arm,
            context.Response.Headers[RequestIdMiddleware.HeaderName].ToString(),
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            exchange.Request,
            exchange.Answer));
    }
}
