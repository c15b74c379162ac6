using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// First proxy stage: what the request asks for (<see cref="RequestClassifier"/>), a body over the limit refused
/// before anything else, and for gRPC the model read from the message. Errors YARP leaves without a body (no replica,
/// a replica that failed, a timeout) get one in the route's form on the way back.
/// </summary>
internal sealed class ClassificationStage(RequestDelegate next, IOptions<GatewayOptions> options)
{
    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = RequestClassifier.Classify(context.Request);
        context.Features.Set(request);

        if (context.Request.ContentLength > _maxBodyBytes)
        {
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status413PayloadTooLarge,
                $"the request body of {context.Request.ContentLength} bytes is over the gateway's limit of {_maxBodyBytes} bytes (Gateway:MaxRequestBodyBytes)");
            return;
        }
        if (request.Shape == PathShape.Grpc && !await ReadGrpcModelAsync(context, request))
        {
            return;
        }

        await next(context);

        if (!context.Response.HasStarted && context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>() is { } error)
        {
            var (status, message) = ProxyErrorMessages.Describe(error, context.Response.StatusCode);
            RestoreGatewayHeaders(context, request);
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, status, message);
        }
    }

    private async Task<bool> ReadGrpcModelAsync(HttpContext context, GatewayRequest request)
    {
        var (message, problem) = await GrpcModelMessage.ReadAsync(context.Request.BodyReader, _maxBodyBytes, context.RequestAborted);
        if (message is null)
        {
            await GatewayErrors.WriteAsync(context, ErrorStyle.Grpc, StatusCodes.Status400BadRequest, problem!);
            return false;
        }
        var (model, version) = GrpcModelMessage.ReadModel(message);
        if (string.IsNullOrEmpty(model))
        {
            await GatewayErrors.WriteAsync(context, ErrorStyle.Grpc, StatusCodes.Status400BadRequest, "the request names no model (model_name is required)");
            return false;
        }
        request.Model = model;
        request.RequestedVersion = version;
        request.GrpcMessage = message;
        context.Request.Body = new MemoryStream(message, writable: false);
        return true;
    }

    /// <summary>YARP clears the response on a failure; the headers every answer carries go back on.</summary>
    private static void RestoreGatewayHeaders(HttpContext context, GatewayRequest request)
    {
        var headers = context.Response.Headers;
        if (context.Request.Headers[RequestIdMiddleware.HeaderName] is { Count: 1 } id)
        {
            headers[RequestIdMiddleware.HeaderName] = id;
        }
        if (request.Arm is { } arm)
        {
            headers[TrafficPolicyStage.VersionHeader] = arm.Target.VersionText;
        }
    }
}
