using System.Diagnostics;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Statistics;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// Proxy stage: picks the version a model request goes to from its deployment (an explicit version wins; else
/// canary by percent, sticky per <c>X-Hyperion-Session</c>; else stable), rewrites the path to
/// <c>/v2/models/{m}/versions/{v}/...</c> (gRPC: <c>model_version</c>), keeps only replicas where that version is
/// ready, says which version answered in <c>X-Hyperion-Model-Version</c>, and counts the arm's outcome and latency.
/// Models without a deployment in the routing table are forwarded as they are. Sets the <see cref="ArmChoice"/> the
/// cache and the shadow read.
/// </summary>
internal sealed class TrafficPolicyStage(RequestDelegate next, RoutingTableCache routing, ArmStatistics statistics, GatewayMetrics metrics)
{
    public const string VersionHeader = "X-Hyperion-Model-Version";

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Need<RequestClassification>(nameof(TrafficPolicyStage));
        if (request.Model is { } model && request.Kind is (RequestKind.Infer or RequestKind.ModelMetadata)
            && routing.Current.Find(model) is { } policy)
        {
            return RouteAsync(context, request, model, policy);
        }
        context.Features.Set(ArmChoice.Unrouted);
        return next(context);
    }

    private async Task RouteAsync(HttpContext context, RequestClassification request, string model, ModelPolicy policy)
    {
        RoutedArm arm;
        if (request.RequestedVersion is { } requested)
        {
            if (policy.FindPinnedArm(requested) is not { } pinned)
            {
                // Not a version this deployment serves: the replica says what is wrong with it.
                context.Features.Set(ArmChoice.Unrouted);
                await next(context);
                return;
            }
            arm = pinned;
        }
        else if (policy.StableArm is not { } stable)
        {
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status503ServiceUnavailable,
                $"model '{model}' is deployed but no version of it is ready yet; retry shortly");
            return;
        }
        else
        {
            arm = ArmSelector.ChooseCanary(policy, context.Request.Headers[ArmSelector.SessionHeader].ToString()) ? policy.CanaryArm! : stable;
        }

        context.Features.Set(arm.Choice);
        Rewrite(context, request, arm.Target);
        KeepReadyReplicas(context, request.Shape == PathShape.Grpc ? arm.Target.GrpcUrls : arm.Target.HttpUrls);
        context.Response.Headers[VersionHeader] = arm.Target.VersionText;

        var started = Stopwatch.GetTimestamp();
        await next(context);
        // Only a deployment with the cache on can have been answered from it: no lookup for the others.
        var servedFromCache = arm.Policy.Cache.Enabled && context.Features.Get<ResponseCacheHit>() is not null;
        if (!servedFromCache)
        {
            Record(arm, ArmOutcomes.Of(context, request.Shape), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private void Record(RoutedArm arm, ArmOutcome outcome, double milliseconds)
    {
        metrics.ArmRequest(arm.Target.Model, arm.Target.VersionText, arm.Arm, outcome, milliseconds / 1000);
        if (arm.Arm != RoutedArm.Pinned)
        {
            statistics.Record(arm.Target, arm.Arm, outcome == ArmOutcome.Error, milliseconds);
        }
    }

    private static void Rewrite(HttpContext context, RequestClassification request, VersionTarget target)
    {
        switch (request.Shape)
        {
            case PathShape.V2Model:
                context.Request.Path = new PathString(request.PathRest.Length == 0 ? target.V2Prefix : string.Concat(target.V2Prefix, request.PathRest));
                break;
            case PathShape.V1Predict:
                context.Request.Path = new PathString(string.Concat(target.V1Prefix, request.PathRest));
                break;
            case PathShape.Grpc when request.RequestedVersion is null:
                context.Request.Body = new MemoryStream(GrpcModelMessage.WithVersion(request.GrpcMessage.Span, target.VersionText), writable: false);
                break;
        }
    }

    /// <summary>Only replicas where the version is ready; the list YARP gave is kept when all of them are (the common case, no allocation).</summary>
    private static void KeepReadyReplicas(HttpContext context, IReadOnlySet<string> ready)
    {
        var feature = context.GetReverseProxyFeature();
        var available = feature.AvailableDestinations;
        var all = true;
        for (var i = 0; i < available.Count; i++)
        {
            if (!ready.Contains(available[i].Model.Config.Address))
            {
                all = false;
                break;
            }
        }
        if (all)
        {
            return;
        }
        var kept = new List<DestinationState>(available.Count);
        for (var i = 0; i < available.Count; i++)
        {
            if (ready.Contains(available[i].Model.Config.Address))
            {
                kept.Add(available[i]);
            }
        }
        feature.AvailableDestinations = kept;
    }
}
