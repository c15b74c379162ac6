using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>
/// The stages between the traffic policy and the forward: the cache and the shadow, given the policy's choice (no
/// Redis, no shadow replica), and the connect retry, with YARP's forwarding played by the next stage.
/// </summary>
public sealed class ForwardingStageTests
{
    private static readonly ModelPolicy s_digits = StageHost.Policy(new("digits", Revision: 1, Stable: 1, Canary: new(2, 50), Shadow: new(3, 100),
        new(true, 60), [new(1, ["r1"]), new(2, ["r1"]), new(3, ["r2"])]));

    [Fact]
    public async Task An_unrouted_request_passes_the_cache_untouched()
    {
        using var host = new StageHost();
        var context = Chosen(ArmChoice.Unrouted);

        Assert.Equal(1, (await host.RunAsync<ResponseCacheStage>(context)).Calls);
        Assert.False(context.Response.Headers.ContainsKey(ResponseCacheStage.Header));
    }

    [Theory]
    [InlineData("no-cache")] // the client opts out
    [InlineData(null)] // Redis cannot be asked
    public async Task A_cacheable_request_bypasses_the_cache_when_it_cannot_be_used(string? cacheControl)
    {
        using var host = new StageHost();
        var context = Chosen(s_digits.StableArm!.Choice);
        context.Request.ContentLength = 2;
        context.Request.Body = new MemoryStream("{}"u8.ToArray());
        context.Request.Headers.CacheControl = cacheControl;

        Assert.Equal(1, (await host.RunAsync<ResponseCacheStage>(context)).Calls);
        Assert.Equal("BYPASS", context.Response.Headers[ResponseCacheStage.Header]);
        Assert.Null(context.Features.Get<ResponseCacheHit>());
    }

    [Fact]
    public async Task Only_requests_to_stable_are_copied_for_the_shadow()
    {
        using var host = new StageHost();
        var copied = new List<bool>();
        var stage = host.Build<ShadowStage>(new NextStage(context =>
        {
            copied.Add(context.Request.Body is CapturingReadStream);
            return Task.CompletedTask;
        }));

        await stage(Chosen(s_digits.CanaryArm!.Choice));
        await stage(Chosen(s_digits.StableArm!.Choice));

        Assert.Equal([false, true], copied);
    }

    [Fact]
    public async Task Without_the_traffic_policy_s_choice_both_name_the_stage_that_must_run_first()
    {
        using var host = new StageHost();
        Assert.StartsWith("ResponseCacheStage needs the request's ArmChoice, which TrafficPolicyStage sets",
            await host.MissingResultAsync<ResponseCacheStage>(StageHost.Classified("POST", "/v2/models/digits/infer")));
        Assert.StartsWith("ShadowStage needs the request's ArmChoice, which TrafficPolicyStage sets",
            await host.MissingResultAsync<ShadowStage>(StageHost.Classified("POST", "/v2/models/digits/infer")));
    }

    [Fact]
    public async Task A_replica_that_refused_the_connection_is_left_out_and_the_request_sent_to_another()
    {
        using var host = new StageHost();
        var tried = new List<string>();
        var context = WithReplicas("r1", "r2", "r3");
        context.Request.Headers["X-Request-Id"] = "req-1";
        context.Features.Set(StageHost.Policy(new ModelRoute("digits", 1, 5, null, null, new(false, 0), [new(5, ["r1", "r2"])])).StableArm!.Choice);

        await host.RunAsync<ConnectRetryStage>(context, forwarded =>
        {
            var proxy = forwarded.GetReverseProxyFeature();
            var destination = proxy.AvailableDestinations[0];
            proxy.ProxiedDestination = destination;
            tried.Add(destination.DestinationId);
            if (destination.DestinationId == "r1")
            {
                forwarded.Response.Headers.Clear();
                forwarded.Response.StatusCode = StatusCodes.Status502BadGateway;
                forwarded.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.Request,
                    new HttpRequestException(HttpRequestError.ConnectionError, "connection refused")));
            }
            return Task.CompletedTask;
        });

        Assert.Equal(["r1", "r2"], tried);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Null(context.Features.Get<IForwarderErrorFeature>());
        Assert.Equal("req-1", context.Response.Headers["X-Request-Id"]);
        Assert.Equal("5", context.Response.Headers[TrafficPolicyStage.VersionHeader]);
    }

    [Fact]
    public async Task A_replica_that_failed_after_it_got_the_request_is_not_asked_again()
    {
        using var host = new StageHost();

        var next = await host.RunAsync<ConnectRetryStage>(WithReplicas("r1", "r2"), context =>
        {
            context.GetReverseProxyFeature().ProxiedDestination = context.GetReverseProxyFeature().AvailableDestinations[0];
            context.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.ResponseBodyDestination, new IOException("reset")));
            return Task.CompletedTask;
        });

        Assert.Equal(1, next.Calls);
    }

    private static DefaultHttpContext Chosen(ArmChoice choice)
    {
        var context = StageHost.Classified("POST", "/v2/models/digits/infer");
        context.Features.Set(choice);
        context.Features.Set(CaptureSample.NotSampled);
        return context;
    }

    private static DefaultHttpContext WithReplicas(params string[] ids)
    {
        var context = StageHost.Classified("POST", "/v2/models/digits/infer");
        var replicas = ids.Select(id => new DestinationState(id, new DestinationModel(new DestinationConfig { Address = $"http://{id}" }))).ToArray();
        context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { AllDestinations = replicas, AvailableDestinations = replicas });
        return context;
    }
}
