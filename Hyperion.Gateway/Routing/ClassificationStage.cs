using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// First proxy stage: what the request asks for (<see cref="RequestClassifier"/>), a body over the limit refused
/// before anything else, and for gRPC the model read from the message; sets the <see cref="RequestClassification"/>
/// every later stage reads. Errors YARP leaves without a body (no replica, a replica that failed, a timeout) get one
/// in the route's form on the way back.
/// </summary>
internal sealed class ClassificationStage(RequestDelegate next, IOptions<GatewayOptions> options)
{
    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;
    private readonly long _maxControlPlaneBodyBytes = options.Value.MaxControlPlaneBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = RequestClassifier.Classify(context.Request);

        var (limit, setting) = request.Kind == RequestKind.ControlPlane
            ? (_maxControlPlaneBodyBytes, "Gateway:MaxControlPlaneBodyBytes")
            : (_maxBodyBytes, "Gateway:MaxRequestBodyBytes");
        if (context.Request.ContentLength > limit)
        {
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status413PayloadTooLarge,
                $"the request body of {context.Request.ContentLength} bytes is over the gateway's limit of {limit} bytes ({setting})");
            return;
        }
        if (request.Kind == RequestKind.ControlPlane
            && context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            // Kestrel's server-wide limit is the inference one; model uploads may be larger.
            bodySize.MaxRequestBodySize = limit;
        }
        if (request.Shape == PathShape.Grpc)
        {
            if (await ReadGrpcModelAsync(context, request) is not { } named)
            {
                return;
            }
            request = named;
        }
        context.Features.Set(request);

        await next(context);

        if (!context.Response.HasStarted && context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>() is { } error)
        {
            var (status, message) = ProxyErrorMessages.Describe(error, context.Response.StatusCode);
            GatewayResponseHeaders.Restore(context);
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, status, message);
        }
    }

    /// <summary>The classification with the model the message names; null when it names none (answered 400).</summary>
    private async Task<RequestClassification?> ReadGrpcModelAsync(HttpContext context, RequestClassification request)
    {
        var (message, problem) = await GrpcModelMessage.ReadAsync(context.Request.BodyReader, _maxBodyBytes, context.RequestAborted);
        if (message is null)
        {
            await GatewayErrors.WriteAsync(context, ErrorStyle.Grpc, StatusCodes.Status400BadRequest, problem!);
            return null;
        }
        var (model, version) = GrpcModelMessage.ReadModel(message);
        if (string.IsNullOrEmpty(model))
        {
            await GatewayErrors.WriteAsync(context, ErrorStyle.Grpc, StatusCodes.Status400BadRequest, "the request names no model (model_name is required)");
            return null;
        }
        context.Request.Body = new MemoryStream(message, writable: false);
        if (request.Kind == RequestKind.Infer && model.StartsWith(RequestClassifier.GrpcPipelinePrefix, StringComparison.Ordinal))
        {
            // Model names have no '/': "pipelines/<p>" names pipeline <p>, as the REST path /v2/pipelines/<p>/infer does.
            return request with { Kind = RequestKind.PipelineInfer, Shape = PathShape.None, Pipeline = model[RequestClassifier.GrpcPipelinePrefix.Length..], GrpcMessage = message };
        }
        return request with { Model = model, RequestedVersion = version, GrpcMessage = message };
    }
}
