using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Pipelines;
using Hyperion.Gateway.RateLimiting;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Hyperion.Gateway.Usage;

namespace Hyperion.Gateway.Pipeline;

/// <summary>One proxy stage: its middleware, the results of earlier stages it reads, and the results it sets.</summary>
/// <param name="Needs">Results read with <see cref="StageResults.Need{T}"/>; each must be set by an earlier stage.</param>
/// <param name="Sets">Results put in <see cref="HttpContext.Features"/> for the stages after it.</param>
internal sealed record GatewayStage(Type Middleware, Type[] Needs, Type[] Sets);

/// <summary>
/// The proxy pipeline's stages in the order they run; <c>MapGateway</c> adds them in this order, then YARP's load
/// balancing and passive health checks. A stage hands what it decided to the later ones as an immutable result in
/// <see cref="HttpContext.Features"/>, as YARP's own middleware does, never by changing an earlier stage's result.
/// What each stage needs is declared here, so a test can check that every result is set before it is read, and a
/// stage that finds one missing can say which stage should have run first.
/// </summary>
internal static class GatewayPipeline
{
    public static IReadOnlyList<GatewayStage> Stages { get; } =
    [
        Stage<ClassificationStage>(needs: [], sets: [typeof(RequestClassification)]),
        Stage<AuthorizationStage>(needs: [typeof(RequestClassification)], sets: [typeof(Admission)]),
        Stage<RateLimitStage>(needs: [typeof(Admission), typeof(RequestClassification)], sets: []),
        // After the rate limit (a burst is refused before it spends quota); it wraps everything after it, to meter the
        // answer a model or pipeline call got.
        Stage<UsageStage>(needs: [typeof(Admission), typeof(RequestClassification)], sets: []),
        // After admission and the rate limit, which a pipeline call passes as one inference call; it answers pipeline
        // calls itself (routing each step as its model's deployment routes), so nothing after it sees them.
        Stage<PipelineStage>(needs: [typeof(RequestClassification), typeof(Admission)], sets: []),
        Stage<TrafficPolicyStage>(needs: [typeof(RequestClassification)], sets: [typeof(ArmChoice)]),
        // Read on the way back by TrafficPolicyStage, which wraps it: a cached answer is not counted for the arm.
        Stage<ResponseCacheStage>(needs: [typeof(ArmChoice), typeof(RequestClassification)], sets: [typeof(ResponseCacheHit)]),
        // After the cache: an answer from the cache was not computed by the version, so it is not captured.
        Stage<CaptureStage>(needs: [typeof(ArmChoice), typeof(RequestClassification)], sets: [typeof(CaptureSample)]),
        // After the cache: an answer from the cache is not copied to the shadow. After capture: the shadow's answer
        // to a captured request is captured too.
        Stage<ShadowStage>(needs: [typeof(ArmChoice), typeof(RequestClassification), typeof(CaptureSample)], sets: []),
        // Last: it repeats what follows it (load balancing, forwarding) among the replicas the traffic policy kept.
        Stage<ConnectRetryStage>(needs: [], sets: []),
    ];

    /// <summary>The stage that sets <paramref name="result"/>, or null when none does.</summary>
    public static GatewayStage? SetterOf(Type result)
    {
        foreach (var stage in Stages)
        {
            if (Array.IndexOf(stage.Sets, result) >= 0)
            {
                return stage;
            }
        }
        return null;
    }

    private static GatewayStage Stage<TMiddleware>(Type[] needs, Type[] sets) => new(typeof(TMiddleware), needs, sets);
}
