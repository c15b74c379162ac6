using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Shadowing;

/// <summary>
/// Proxy stage: for a request that went to stable on a deployment with a shadow arm (sampled by the shadow's
/// percent), copies the request body as it streams to stable and stable's answer as it streams back (one
/// <see cref="RecordedExchange"/> with <see cref="CaptureStage"/>), and once the
/// client has its answer queues a copy for <see cref="ShadowDispatcher"/> (marked for capture when
/// <see cref="CaptureStage"/> captured stable's answer). Nothing here waits for the shadow or changes what the client gets.
/// </summary>
internal sealed class ShadowStage(RequestDelegate next, ShadowDispatcher dispatcher, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    private readonly GatewayOptions _options = options.Value;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Need<ArmChoice>(nameof(ShadowStage)).Arm is not { Arm: Contracts.ControlPlane.ArmStatisticsKeys.Stable, Policy: { Shadow: { } shadow } policy })
        {
            return next(context);
        }
        var request = context.Need<RequestClassification>(nameof(ShadowStage));
        return request.Kind == RequestKind.Infer && request.Shape is (PathShape.V2Model or PathShape.V1Predict)
            && ArmSelector.SampleShadow(policy)
            ? ForwardAndCopyAsync(context, request, shadow)
            : next(context);
    }

    private async Task ForwardAndCopyAsync(HttpContext context, RequestClassification request, VersionTarget shadow)
    {
        if (await RecordedExchange.ForwardAsync(context, next, _options) is not { } exchange)
        {
            return;
        }
        if (!exchange.Fits(_options.Shadowing.MaxBodyBytes))
        {
            metrics.ShadowDropped("too_large");
            return;
        }
        var path = request.Shape == PathShape.V1Predict ? shadow.V1Prefix + request.PathRest : shadow.V2Prefix + request.PathRest;
        var headerLength = context.Request.Headers["Inference-Header-Content-Length"].ToString();
        var captured = context.Need<CaptureSample>(nameof(ShadowStage)).IsSampled;
        dispatcher.TryEnqueue(new ShadowCopy(
            shadow,
            path,
            context.Request.ContentType,
            headerLength.Length == 0 ? null : headerLength,
            exchange.Request,
            exchange.Answer,
            StableAnswerIsJson: context.Response.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true,
            CaptureAs: captured ? context.Response.Headers[RequestIdMiddleware.HeaderName].ToString() : null));
    }
}
