using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>Which requests the capture stage copies, given the traffic policy's choice (no Redis: nothing is written).</summary>
public sealed class CaptureStageTests
{
    private static readonly ModelPolicy s_monitored = Digits(capturePercent: 100);

    [Fact]
    public async Task A_sampled_JSON_inference_request_to_stable_or_canary_is_copied_as_it_is_forwarded()
    {
        using var host = new StageHost();
        foreach (var arm in new[] { s_monitored.StableArm!, s_monitored.CanaryArm! })
        {
            var context = Chosen(arm.Choice, "/v2/models/digits/infer");
            var next = await host.RunAsync<CaptureStage>(context, forwarded =>
            {
                Assert.IsType<CapturingReadStream>(forwarded.Request.Body);
                Assert.IsType<CapturingWriteStream>(forwarded.Response.Body);
                return Task.CompletedTask;
            });
            Assert.Equal(1, next.Calls);
            Assert.Same(CaptureSample.Sampled, context.Features.Get<CaptureSample>());
            // The client's streams are put back once the answer went out.
            Assert.IsNotType<CapturingWriteStream>(context.Response.Body);
        }
    }

    [Fact]
    public async Task A_request_both_captured_and_shadowed_is_recorded_once_for_both()
    {
        using var host = new StageHost();
        var policy = StageHost.Policy(new ModelRoute("digits", Revision: 1, Stable: 1, Canary: null, Shadow: new(2, 100),
            new(false, 0), [new(1, ["r1"]), new(2, ["r1"])], CapturePercent: 100));
        var context = Chosen(policy.StableArm!.Choice, "/v2/models/digits/infer");
        context.Request.Body = new MemoryStream("""{"inputs":[]}"""u8.ToArray());
        Stream? seenByShadow = null;
        Stream? seenByReplica = null;
        RecordedExchange? recording = null;

        var app = new ApplicationBuilder(host.Get<IServiceProvider>());
        app.UseMiddleware<CaptureStage>();
        app.Use((forwarded, next) =>
        {
            seenByShadow = forwarded.Request.Body;
            return next(forwarded);
        });
        app.UseMiddleware<ShadowStage>();
        app.Run(async forwarded =>
        {
            seenByReplica = forwarded.Request.Body;
            recording = forwarded.Features.Get<RecordedExchange>();
            await forwarded.Request.Body.CopyToAsync(Stream.Null);
            forwarded.Response.ContentType = "application/json";
            await forwarded.Response.Body.WriteAsync("""{"outputs":[]}"""u8.ToArray());
        });
        await app.Build()(context);

        Assert.IsType<CapturingReadStream>(seenByReplica);
        Assert.Same(seenByShadow, seenByReplica);
        Assert.Equal("""{"inputs":[]}"""u8.ToArray(), recording!.Request);
        Assert.Equal("""{"outputs":[]}"""u8.ToArray(), recording.Answer);
        Assert.Null(context.Features.Get<RecordedExchange>());
        Assert.Equal("""{"outputs":[]}""", StageHost.ResponseText(context));
    }

    [Theory]
    [InlineData(0, "/v2/models/digits/infer", null)] // the deployment does not monitor
    [InlineData(100, "/v2/models/digits/ready", null)] // not an inference request
    [InlineData(100, "/v2/models/digits/infer", "42")] // the binary extension
    [InlineData(100, "/v1/models/digits:predict", null)] // KServe v1, not OIP
    public async Task Other_requests_pass_untouched_and_are_not_sampled(int capturePercent, string path, string? binaryHeaderLength)
    {
        using var host = new StageHost();
        var context = Chosen(Digits(capturePercent).StableArm!.Choice, path);
        if (binaryHeaderLength is not null)
        {
            context.Request.Headers["Inference-Header-Content-Length"] = binaryHeaderLength;
        }
        var body = context.Request.Body;

        var next = await host.RunAsync<CaptureStage>(context, forwarded =>
        {
            Assert.Same(body, forwarded.Request.Body);
            return Task.CompletedTask;
        });

        Assert.Equal(1, next.Calls);
        Assert.Same(CaptureSample.NotSampled, context.Features.Get<CaptureSample>());
    }

    [Fact]
    public async Task Unrouted_and_pinned_requests_are_not_sampled()
    {
        using var host = new StageHost();
        foreach (var choice in new[] { ArmChoice.Unrouted, s_monitored.FindPinnedArm("1")!.Choice })
        {
            var context = Chosen(choice, "/v2/models/digits/infer");
            await host.RunAsync<CaptureStage>(context);
            Assert.Same(CaptureSample.NotSampled, context.Features.Get<CaptureSample>());
        }
    }

    [Fact]
    public async Task The_sample_percent_reaches_the_policy_from_the_routing_table()
    {
        Assert.Equal(10_000, s_monitored.CaptureBasisPoints);
        Assert.Equal(2_550, Digits(25.5).CaptureBasisPoints);
        using var host = new StageHost();
        Assert.StartsWith("CaptureStage needs the request's ArmChoice, which TrafficPolicyStage sets",
            await host.MissingResultAsync<CaptureStage>(StageHost.Classified("POST", "/v2/models/digits/infer")));
    }

    [Fact]
    public void A_full_queue_drops_the_capture_instead_of_waiting()
    {
        using var host = new StageHost(options => options.Capturing.QueueCapacity = 1);
        var writer = host.Get<CaptureWriter>();
        var capture = new CapturedExchange("digits", "1", ArmStatisticsKeys.Stable, "req-1", 0, [], []);

        Assert.True(writer.TryEnqueue(capture));
        Assert.False(writer.TryEnqueue(capture with { RequestId = "req-2" }));
    }

    private static ModelPolicy Digits(double capturePercent) => StageHost.Policy(new ModelRoute("digits", Revision: 1, Stable: 1, Canary: new(2, 50), Shadow: null,
        new(false, 0), [new(1, ["r1"]), new(2, ["r1"])], CapturePercent: capturePercent));

    private static DefaultHttpContext Chosen(ArmChoice choice, string path)
    {
        var context = StageHost.Classified("POST", path);
        context.Features.Set(choice);
        return context;
    }
}
