using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>What the cache and the shadow do with the traffic policy's choice, without Redis or a shadow replica.</summary>
public sealed class CacheAndShadowStageTests
{
    private static readonly ModelRoute s_digits = new("digits", Revision: 1, Stable: 1, Canary: new(2, 50), Shadow: new(3, 100), new(true, 60),
        [new(1, ["r1"]), new(2, ["r1"]), new(3, ["r2"])]);

    [Fact]
    public async Task An_unrouted_request_passes_the_cache_untouched()
    {
        using var host = new StageHost();
        var next = new NextStage();
        var context = Chosen("POST", "/v2/models/digits/infer", ArmChoice.Unrouted);

        await host.Create<ResponseCacheStage>(next).InvokeAsync(context);

        Assert.Equal(1, next.Calls);
        Assert.False(context.Response.Headers.ContainsKey(ResponseCacheStage.Header));
    }

    [Theory]
    [InlineData("no-cache")] // the client opts out
    [InlineData(null)] // Redis cannot be asked
    public async Task A_cacheable_request_bypasses_the_cache_when_it_cannot_be_used(string? cacheControl)
    {
        using var host = new StageHost();
        var next = new NextStage();
        var context = Chosen("POST", "/v2/models/digits/infer", StageHost.Policy(s_digits).StableArm!.Choice);
        context.Request.ContentLength = 2;
        context.Request.Body = new MemoryStream("{}"u8.ToArray());
        if (cacheControl is not null)
        {
            context.Request.Headers.CacheControl = cacheControl;
        }

        await host.Create<ResponseCacheStage>(next).InvokeAsync(context);

        Assert.Equal(1, next.Calls);
        Assert.Equal("BYPASS", context.Response.Headers[ResponseCacheStage.Header]);
        Assert.Null(context.Features.Get<ResponseCacheHit>());
    }

    [Fact]
    public async Task Only_requests_to_stable_are_copied_for_the_shadow()
    {
        using var host = new StageHost();
        var policy = StageHost.Policy(s_digits);
        bool? copied = null;
        var next = new NextStage(context =>
        {
            copied = context.Request.Body is CapturingReadStream;
            return Task.CompletedTask;
        });
        var stage = host.Create<ShadowStage>(next);

        await stage.InvokeAsync(Chosen("POST", "/v2/models/digits/infer", policy.CanaryArm!.Choice));
        Assert.False(copied);
        await stage.InvokeAsync(Chosen("POST", "/v2/models/digits/infer", policy.StableArm!.Choice));
        Assert.True(copied);
    }

    [Fact]
    public async Task Without_the_traffic_policy_s_choice_both_name_the_stage_that_must_run_first()
    {
        using var host = new StageHost();
        var cache = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.Create<ResponseCacheStage>(new NextStage()).InvokeAsync(StageHost.Classified("POST", "/v2/models/digits/infer")));
        Assert.Contains("ResponseCacheStage needs the request's ArmChoice, which TrafficPolicyStage sets", cache.Message);
        var shadow = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.Create<ShadowStage>(new NextStage()).InvokeAsync(StageHost.Classified("POST", "/v2/models/digits/infer")));
        Assert.Contains("ShadowStage needs the request's ArmChoice, which TrafficPolicyStage sets", shadow.Message);
    }

    private static DefaultHttpContext Chosen(string method, string path, ArmChoice choice)
    {
        var context = StageHost.Classified(method, path);
        context.Features.Set(choice);
        return context;
    }
}
