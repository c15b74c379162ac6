using Google.Protobuf;
using Hyperion.Gateway.Routing;
using Hyperion.Inference.Protocol.Grpc.V2;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Tests.Gateway.Stages;

public sealed class ClassificationStageTests
{
    [Fact]
    public async Task A_request_is_classified_once_for_every_later_stage()
    {
        using var host = new StageHost();
        RequestClassification? seen = null;
        var next = new NextStage(context =>
        {
            seen = context.Features.Get<RequestClassification>();
            return Task.CompletedTask;
        });
        var context = StageHost.Request("POST", "/v2/models/digits/versions/3/infer");

        await host.Create<ClassificationStage>(next).InvokeAsync(context);

        Assert.Equal(1, next.Calls);
        Assert.Equal(new RequestClassification
        {
            Kind = RequestKind.Infer,
            ErrorStyle = ErrorStyle.Oip,
            Shape = PathShape.V2Model,
            Model = "digits",
            RequestedVersion = "3",
            PathRest = "/infer",
        }, seen);
    }

    [Fact]
    public void Requests_that_name_no_model_share_one_classification()
    {
        Classify("GET", "/v2/health/ready", out var first);
        Classify("GET", "/v2/health/live", out var second);
        Assert.Same(first, second);
        Classify("GET", "/api/v1/models", out var controlPlane);
        Assert.Equal((RequestKind.ControlPlane, ErrorStyle.Problem), (controlPlane.Kind, controlPlane.ErrorStyle));
        Classify("POST", "/v2/models/digits/infer", out var model);
        Classify("POST", "/v2/models/digits/infer", out var again);
        Assert.NotSame(model, again);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_before_any_other_stage_and_says_which_setting()
    {
        using var host = new StageHost(options => options.MaxRequestBodyBytes = 4096);
        var next = new NextStage();
        var context = StageHost.Request("POST", "/v2/models/digits/infer");
        context.Request.ContentLength = 4097;

        await host.Create<ClassificationStage>(next).InvokeAsync(context);

        Assert.Equal(0, next.Calls);
        Assert.Equal(StatusCodes.Status413PayloadTooLarge, context.Response.StatusCode);
        Assert.Equal("""{"error":"the request body of 4097 bytes is over the gateway's limit of 4096 bytes (Gateway:MaxRequestBodyBytes)"}""",
            StageHost.ResponseText(context));
    }

    [Fact]
    public async Task A_gRPC_request_is_classified_with_the_model_its_message_names()
    {
        using var host = new StageHost();
        RequestClassification? seen = null;
        var next = new NextStage(context =>
        {
            seen = context.Features.Get<RequestClassification>();
            return Task.CompletedTask;
        });
        var frame = Frame(new ModelInferRequest { ModelName = "digits", ModelVersion = "2" });
        var context = StageHost.Request("POST", RequestClassifier.GrpcServicePrefix + "ModelInfer");
        context.Request.Body = new MemoryStream(frame);

        await host.Create<ClassificationStage>(next).InvokeAsync(context);

        Assert.Equal(1, next.Calls);
        Assert.NotNull(seen);
        Assert.Equal((RequestKind.Infer, ErrorStyle.Grpc, PathShape.Grpc, "digits", "2"), (seen.Kind, seen.ErrorStyle, seen.Shape, seen.Model, seen.RequestedVersion));
        Assert.Equal(frame, seen.GrpcMessage.ToArray());
        // The message was read off the wire; the replica gets it again from the request body.
        Assert.Equal(frame, ((MemoryStream)context.Request.Body).ToArray());
    }

    [Fact]
    public async Task A_gRPC_message_that_names_no_model_is_an_invalid_argument()
    {
        using var host = new StageHost();
        var next = new NextStage();
        var context = StageHost.Request("POST", RequestClassifier.GrpcServicePrefix + "ModelInfer");
        context.Request.Body = new MemoryStream(Frame(new ModelInferRequest { Id = "no-model" }));

        await host.Create<ClassificationStage>(next).InvokeAsync(context);

        Assert.Equal(0, next.Calls);
        Assert.Equal("3", context.Response.Headers["grpc-status"]);
        Assert.Equal("the request names no model (model_name is required)", Uri.UnescapeDataString(context.Response.Headers["grpc-message"]!));
    }

    [Fact]
    public async Task A_failed_forward_is_answered_in_the_route_s_form_with_the_headers_every_answer_carries()
    {
        using var host = new StageHost();
        var policy = StageHost.Policy(new("digits", Revision: 1, Stable: 4, Canary: null, Shadow: null, new(false, 0), [new(4, ["r1"])]));
        var next = new NextStage(context =>
        {
            // As YARP leaves it: the arm was chosen, then the replica failed and the response was cleared.
            context.Features.Set(policy.StableArm!.Choice);
            context.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.RequestTimedOut, null));
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
            return Task.CompletedTask;
        });
        var context = StageHost.Request("POST", "/v2/models/digits/infer");
        context.Request.Headers["X-Request-Id"] = "req-1";

        await host.Create<ClassificationStage>(next).InvokeAsync(context);

        Assert.Equal(StatusCodes.Status504GatewayTimeout, context.Response.StatusCode);
        Assert.Equal("""{"error":"the replica did not answer in time (Gateway:Resilience:UpstreamTimeoutSeconds)"}""", StageHost.ResponseText(context));
        Assert.Equal("req-1", context.Response.Headers["X-Request-Id"]);
        Assert.Equal("4", context.Response.Headers[TrafficPolicyStage.VersionHeader]);
    }

    private static void Classify(string method, string path, out RequestClassification classification) =>
        classification = RequestClassifier.Classify(StageHost.Request(method, path).Request);

    private static byte[] Frame(ModelInferRequest message)
    {
        var body = message.ToByteArray();
        var frame = new byte[body.Length + 5];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }
}

/// <summary>How YARP reports a failed forward.</summary>
internal sealed record ForwarderFailure(ForwarderError Error, Exception? Exception) : IForwarderErrorFeature;
