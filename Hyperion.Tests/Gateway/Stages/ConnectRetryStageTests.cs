using System.Net.Http;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>The retry stage with YARP's forwarding played by the next stage: which replica failed, and how.</summary>
public sealed class ConnectRetryStageTests
{
    [Fact]
    public async Task A_replica_that_refused_the_connection_is_left_out_and_the_request_sent_to_another()
    {
        using var host = new StageHost();
        var tried = new List<string>();
        var next = new NextStage(context =>
        {
            var proxy = context.GetReverseProxyFeature();
            var destination = proxy.AvailableDestinations[0];
            proxy.ProxiedDestination = destination;
            tried.Add(destination.DestinationId);
            if (destination.DestinationId == "r1")
            {
                context.Response.Headers.Clear();
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                context.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.Request,
                    new HttpRequestException(HttpRequestError.ConnectionError, "connection refused")));
            }
            return Task.CompletedTask;
        });
        var context = WithReplicas("r1", "r2", "r3");
        context.Request.Headers["X-Request-Id"] = "req-1";
        context.Features.Set(StageHost.Policy(new ModelRoute("digits", 1, 5, null, null, new(false, 0), [new(5, ["r1", "r2"])])).StableArm!.Choice);

        await host.Create<ConnectRetryStage>(next).InvokeAsync(context);

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
        var next = new NextStage(context =>
        {
            context.GetReverseProxyFeature().ProxiedDestination = context.GetReverseProxyFeature().AvailableDestinations[0];
            context.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.ResponseBodyDestination, new IOException("reset")));
            return Task.CompletedTask;
        });

        await host.Create<ConnectRetryStage>(next).InvokeAsync(WithReplicas("r1", "r2"));

        Assert.Equal(1, next.Calls);
    }

    private static DefaultHttpContext WithReplicas(params string[] ids)
    {
        var context = StageHost.Classified("POST", "/v2/models/digits/infer");
        var replicas = ids.Select(id => new DestinationState(id, new DestinationModel(new DestinationConfig { Address = $"http://{id}" }))).ToArray();
        context.Features.Set<IReverseProxyFeature>(new ReverseProxyFeature { AllDestinations = replicas, AvailableDestinations = replicas });
        return context;
    }
}
