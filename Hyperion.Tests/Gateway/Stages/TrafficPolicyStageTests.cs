using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Statistics;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>The traffic policy against a routing table installed in memory; replicas as YARP hands them over.</summary>
public sealed class TrafficPolicyStageTests
{
    // Version 1 is ready on r1 only, version 2 on both.
    private static readonly ModelRoute s_digits = new("digits", Revision: 7, Stable: 1, Canary: null, Shadow: null, new(false, 0),
        [new(1, ["r1"]), new(2, ["r1", "r2"])]);

    [Fact]
    public async Task The_stable_arm_is_chosen_the_path_rewritten_and_only_replicas_where_it_is_ready_kept()
    {
        using var host = Routing(s_digits);
        var context = Routed("POST", "/v2/models/digits/infer", out var proxy);

        Assert.Equal(1, (await host.RunAsync<TrafficPolicyStage>(context)).Calls);

        var arm = context.Features.Get<ArmChoice>()?.Arm;
        Assert.Equal((ArmStatisticsKeys.Stable, 1L), (arm?.Arm, arm?.Target.Version));
        Assert.Equal("/v2/models/digits/versions/1/infer", context.Request.Path);
        Assert.Equal("1", context.Response.Headers[TrafficPolicyStage.VersionHeader]);
        Assert.Equal(["r1"], proxy.AvailableDestinations.Select(destination => destination.DestinationId));
        // The classification the later stages read is the client's request, untouched.
        Assert.Null(context.Features.Get<RequestClassification>()?.RequestedVersion);
    }

    [Fact]
    public async Task A_pinned_version_the_deployment_serves_goes_there_with_one_arm_per_table_not_per_request()
    {
        using var host = Routing(s_digits);
        var stage = host.Build<TrafficPolicyStage>(new NextStage());
        var first = Routed("POST", "/v2/models/digits/versions/2/infer", out var proxy);
        var second = Routed("POST", "/v2/models/digits/versions/2/infer", out _);

        await stage(first);
        await stage(second);

        Assert.Equal((RoutedArm.Pinned, 2L), (first.Features.Get<ArmChoice>()?.Arm?.Arm, first.Features.Get<ArmChoice>()?.Arm?.Target.Version));
        Assert.Same(first.Features.Get<ArmChoice>(), second.Features.Get<ArmChoice>());
        Assert.Equal(["r1", "r2"], proxy.AvailableDestinations.Select(destination => destination.DestinationId));
    }

    [Theory]
    [InlineData("/v2/models/digits/versions/9/infer")] // not a version of the deployment: the replica says so
    [InlineData("/v2/models/digits/versions/x/infer")]
    [InlineData("/v2/models/other/infer")] // no deployment
    [InlineData("/v2/health/ready")] // no model
    public async Task A_request_the_policy_does_not_route_is_forwarded_as_sent(string path)
    {
        using var host = Routing(s_digits);
        var context = Routed(path.Contains("health") ? "GET" : "POST", path, out var proxy);

        Assert.Equal(1, (await host.RunAsync<TrafficPolicyStage>(context)).Calls);
        Assert.Same(ArmChoice.Unrouted, context.Features.Get<ArmChoice>());
        Assert.Equal(path, context.Request.Path);
        Assert.Equal(2, proxy.AvailableDestinations.Count);
    }

    [Fact]
    public async Task A_deployment_with_no_version_ready_yet_is_503_and_says_to_retry()
    {
        using var host = Routing(s_digits with { Stable = null });
        var context = Routed("POST", "/v2/models/digits/infer", out _);

        Assert.Equal(0, (await host.RunAsync<TrafficPolicyStage>(context)).Calls);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("""{"error":"model 'digits' is deployed but no version of it is ready yet; retry shortly"}""", StageHost.ResponseText(context));
    }

    [Fact]
    public async Task An_answer_from_the_cache_is_not_counted_for_the_arm()
    {
        using var host = Routing(s_digits with { Cache = new(true, 60) });
        var statistics = host.Get<ArmStatistics>();

        await host.RunAsync<TrafficPolicyStage>(Routed("POST", "/v2/models/digits/infer", out _), answered =>
        {
            answered.Features.Set(ResponseCacheHit.Instance);
            return Task.CompletedTask;
        });
        Assert.Empty(statistics.All);

        await host.RunAsync<TrafficPolicyStage>(Routed("POST", "/v2/models/digits/infer", out _));
        var counted = Assert.Single(statistics.All);
        Assert.Equal(("digits", 1L, ArmStatisticsKeys.Stable), counted.Key);
        Assert.Equal(1, counted.Value.Drain()?.Requests);
    }

    [Fact]
    public async Task Without_a_classification_it_names_the_stage_that_must_run_first()
    {
        using var host = Routing(s_digits);
        Assert.StartsWith("TrafficPolicyStage needs the request's RequestClassification, which ClassificationStage sets",
            await host.MissingResultAsync<TrafficPolicyStage>(StageHost.Request("POST", "/v2/models/digits/infer")));
    }

    private static StageHost Routing(ModelRoute route)
    {
        var host = new StageHost();
        host.Get<RoutingTableCache>().Install(RoutingSnapshot.From(StageHost.Table(route)));
        return host;
    }

    /// <summary>A classified request with YARP's view of the pool: both replicas available.</summary>
    private static DefaultHttpContext Routed(string method, string path, out ReverseProxyFeature proxy)
    {
        var context = StageHost.Classified(method, path);
        DestinationState[] replicas = [Destination("r1", "http://10.0.0.1:8000"), Destination("r2", "http://10.0.0.2:8000")];
        proxy = new ReverseProxyFeature { AllDestinations = replicas, AvailableDestinations = replicas };
        context.Features.Set<IReverseProxyFeature>(proxy);
        return context;
    }

    private static DestinationState Destination(string id, string address) =>
        new(id, new DestinationModel(new DestinationConfig { Address = address }));
}
