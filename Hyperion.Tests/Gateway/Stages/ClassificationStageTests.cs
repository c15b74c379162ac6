using Google.Protobuf;
using Hyperion.Gateway.Routing;
using Hyperion.Inference.Protocol.Grpc.V2;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>The first stage: what a request asks for, the body limit, and error bodies for failed forwards.</summary>
public sealed class ClassificationStageTests
{
    [Fact]
    public void Requests_that_name_no_model_share_one_classification()
    {
        Assert.Same(Classify("GET", "/v2/health/ready"), Classify("GET", "/v2/health/live"));
        Assert.Same(Classify("GET", "/api/v1/models"), Classify("POST", "/api/v1/keys"));
        Assert.Equal(ErrorStyle.Problem, Classify("GET", "/api/v1/models").ErrorStyle);
        Assert.NotSame(Classify("POST", "/v2/models/digits/infer"), Classify("POST", "/v2/models/digits/infer"));
    }

    [Fact]
    public void A_pipeline_call_names_its_pipeline_and_no_model()
    {
        var call = Classify("POST", "/v2/pipelines/digits-flow/infer");
        Assert.Equal(RequestKind.PipelineInfer, call.Kind);
        Assert.Equal("digits-flow", call.Pipeline);
        Assert.Null(call.Model);
        Assert.Equal(ErrorStyle.Oip, call.ErrorStyle);
        // Anything else under /v2/pipelines is forwarded as it is (the replica answers 404).
        Assert.Equal(RequestKind.Other, Classify("GET", "/v2/pipelines/digits-flow/infer").Kind);
        Assert.Equal(RequestKind.Other, Classify("POST", "/v2/pipelines/digits-flow").Kind);
        Assert.Equal(RequestKind.Other, Classify("POST", "/v2/pipelines//infer").Kind);
    }

    [Fact]
    public async Task A_request_is_classified_once_for_every_later_stage()
    {
        using var host = new StageHost();
        var context = StageHost.Request("POST", "/v2/models/digits/versions/3/infer");

        Assert.Equal(1, (await host.RunAsync<ClassificationStage>(context)).Calls);

        Assert.Equal(new RequestClassification
        {
            Kind = RequestKind.Infer,
            ErrorStyle = ErrorStyle.Oip,
            Shape = PathShape.V2Model,
            Model = "digits",
            RequestedVersion = "3",
            PathRest = "/infer",
        }, context.Features.Get<RequestClassification>());
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_before_any_other_stage_and_says_which_setting()
    {
        using var host = new StageHost(options => options.MaxRequestBodyBytes = 4096);
        var context = StageHost.Request("POST", "/v2/models/digits/infer");
        context.Request.ContentLength = 4097;

        Assert.Equal(0, (await host.RunAsync<ClassificationStage>(context)).Calls);

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, context.Response.StatusCode);
        Assert.Equal("""{"error":"the request body of 4097 bytes is over the gateway's limit of 4096 bytes (Gateway:MaxRequestBodyBytes)"}""",
            StageHost.ResponseText(context));
    }

    [Fact]
    public async Task A_gRPC_request_is_classified_with_the_model_its_message_names()
    {
        using var host = new StageHost();
        var frame = Frame(new ModelInferRequest { ModelName = "digits", ModelVersion = "2" });
        var context = Grpc(frame);

        await host.RunAsync<ClassificationStage>(context);

        var classified = context.Features.Get<RequestClassification>();
        Assert.NotNull(classified);
        Assert.Equal((RequestKind.Infer, ErrorStyle.Grpc, PathShape.Grpc, "digits", "2"),
            (classified.Kind, classified.ErrorStyle, classified.Shape, classified.Model, classified.RequestedVersion));
        Assert.Equal(frame, classified.GrpcMessage.ToArray());
        // The message was read off the wire; the replica gets it again from the request body.
        Assert.Equal(frame, ((MemoryStream)context.Request.Body).ToArray());
    }

    [Fact]
    public async Task A_gRPC_message_that_names_no_model_is_an_invalid_argument()
    {
        using var host = new StageHost();
        var context = Grpc(Frame(new ModelInferRequest { Id = "no-model" }));

        Assert.Equal(0, (await host.RunAsync<ClassificationStage>(context)).Calls);

        Assert.Equal("3", context.Response.Headers["grpc-status"]);
        Assert.Equal("the request names no model (model_name is required)", Uri.UnescapeDataString(context.Response.Headers["grpc-message"]!));
    }

    [Fact]
    public async Task A_failed_forward_is_answered_in_the_route_s_form_with_the_headers_every_answer_carries()
    {
        using var host = new StageHost();
        var policy = StageHost.Policy(new("digits", Revision: 1, Stable: 4, Canary: null, Shadow: null, new(false, 0), [new(4, ["r1"])]));
        var context = StageHost.Request("POST", "/v2/models/digits/infer");
        context.Request.Headers["X-Request-Id"] = "req-1";

        await host.RunAsync<ClassificationStage>(context, forwarded =>
        {
            // As YARP leaves it: the arm was chosen, then the replica failed and the response was cleared.
            forwarded.Features.Set(policy.StableArm!.Choice);
            forwarded.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(ForwarderError.RequestTimedOut, null));
            forwarded.Response.Clear();
            forwarded.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
            return Task.CompletedTask;
        });

        Assert.Equal(StatusCodes.Status504GatewayTimeout, context.Response.StatusCode);
        Assert.Equal("""{"error":"the replica did not answer in time (Gateway:Resilience:UpstreamTimeoutSeconds)"}""", StageHost.ResponseText(context));
        Assert.Equal("req-1", context.Response.Headers["X-Request-Id"]);
        Assert.Equal("4", context.Response.Headers[TrafficPolicyStage.VersionHeader]);
    }

    private static RequestClassification Classify(string method, string path) => RequestClassifier.Classify(StageHost.Request(method, path).Request);

    private static DefaultHttpContext Grpc(byte[] frame)
    {
        var context = StageHost.Request("POST", RequestClassifier.GrpcServicePrefix + "ModelInfer");
        context.Request.Body = new MemoryStream(frame);
        return context;
    }

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
