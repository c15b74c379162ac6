using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Pipelines;
using Hyperion.Gateway.RateLimiting;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Hyperion.Gateway.Usage;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>The order of the proxy stages, read from the one list MapGateway builds the pipeline from.</summary>
public sealed class GatewayPipelineTests
{
    [Fact]
    public void Every_result_a_stage_needs_is_set_by_a_stage_before_it()
    {
        var set = new HashSet<Type>();
        foreach (var stage in GatewayPipeline.Stages)
        {
            foreach (var need in stage.Needs)
            {
                Assert.True(set.Contains(need), $"{stage.Middleware.Name} needs {need.Name}, which no stage before it sets");
            }
            foreach (var result in stage.Sets)
            {
                Assert.True(set.Add(result), $"{result.Name} is set by two stages");
            }
        }
    }

    [Fact]
    public void The_stages_run_in_the_order_their_work_depends_on()
    {
        var order = GatewayPipeline.Stages.Select(stage => stage.Middleware).ToList();
        Assert.Equal(order.Count, order.Distinct().Count());

        // The body limit and the error bodies on the way back cover every other stage.
        Assert.Equal(typeof(ClassificationStage), order[0]);
        // The caller's scopes are checked against what the request asks for; its bucket is charged after that.
        Before<ClassificationStage, AuthorizationStage>(order);
        Before<AuthorizationStage, RateLimitStage>(order);
        // A burst the rate limit refuses spends no quota; a pipeline call is metered and charged to quotas as one call.
        Before<RateLimitStage, UsageStage>(order);
        Before<UsageStage, PipelineStage>(order);
        // A refused request reaches no arm (its statistics gate rollouts).
        Before<RateLimitStage, TrafficPolicyStage>(order);
        // A pipeline call is admitted and charged as one call; its steps are routed by the runner, not by the stages after it.
        Before<RateLimitStage, PipelineStage>(order);
        Before<PipelineStage, TrafficPolicyStage>(order);
        // The cache key and the shadow copy are per chosen version.
        Before<TrafficPolicyStage, ResponseCacheStage>(order);
        Before<TrafficPolicyStage, ShadowStage>(order);
        // An answer from the cache is not copied to the shadow.
        Before<ResponseCacheStage, ShadowStage>(order);
        // Only answers the version computed are captured; the shadow's answer is captured for the requests stable's was.
        Before<ResponseCacheStage, CaptureStage>(order);
        Before<CaptureStage, ShadowStage>(order);
        // It repeats what follows it (load balancing, forwarding): nothing of ours may sit in between.
        Assert.Equal(typeof(ConnectRetryStage), order[^1]);
    }

    [Fact]
    public void The_results_are_set_by_the_stages_that_decide_them()
    {
        Assert.Equal(typeof(ClassificationStage), GatewayPipeline.SetterOf(typeof(RequestClassification))?.Middleware);
        Assert.Equal(typeof(AuthorizationStage), GatewayPipeline.SetterOf(typeof(Admission))?.Middleware);
        Assert.Equal(typeof(TrafficPolicyStage), GatewayPipeline.SetterOf(typeof(ArmChoice))?.Middleware);
        Assert.Equal(typeof(ResponseCacheStage), GatewayPipeline.SetterOf(typeof(ResponseCacheHit))?.Middleware);
        Assert.Equal(typeof(CaptureStage), GatewayPipeline.SetterOf(typeof(CaptureSample))?.Middleware);
    }

    [Fact]
    public void A_missing_result_names_the_stage_asking_and_the_one_that_should_have_run_before_it()
    {
        var context = new DefaultHttpContext();
        var error = Assert.Throws<InvalidOperationException>(() => context.Need<RequestClassification>(nameof(RateLimitStage)));
        Assert.Equal("RateLimitStage needs the request's RequestClassification, which ClassificationStage sets; "
            + "ClassificationStage must run before it (GatewayPipeline.Stages)", error.Message);

        var unknown = Assert.Throws<InvalidOperationException>(() => context.Need<string>(nameof(ShadowStage)));
        Assert.Equal("ShadowStage needs the request's String, which no stage in GatewayPipeline.Stages sets", unknown.Message);

        var classification = RequestClassifier.Classify(new DefaultHttpContext().Request);
        context.Features.Set(classification);
        Assert.Same(classification, context.Need<RequestClassification>(nameof(RateLimitStage)));
    }

    private static void Before<TFirst, TThen>(List<Type> order)
    {
        var (first, then) = (order.IndexOf(typeof(TFirst)), order.IndexOf(typeof(TThen)));
        Assert.True(first >= 0 && then >= 0, $"{typeof(TFirst).Name} and {typeof(TThen).Name} are both in the pipeline");
        Assert.True(first < then, $"{typeof(TFirst).Name} must run before {typeof(TThen).Name}");
    }
}
