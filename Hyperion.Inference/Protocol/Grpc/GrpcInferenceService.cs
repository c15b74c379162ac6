using System.Diagnostics;
using Grpc.Core;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Protocol.Grpc.V2;
using Hyperion.Inference.Serving;

namespace Hyperion.Inference.Protocol.Grpc;

/// <summary>KServe's <c>inference.GRPCInferenceService</c> over the same catalog and dispatcher as the REST routes.</summary>
internal sealed partial class GrpcInferenceService(
    IModelCatalog catalog, IInferenceDispatcher dispatcher, RejectedRequests rejected, ILogger<GrpcInferenceService> logger)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = catalog.IsServerReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        var version = NullIfEmpty(request.Version);
        var ready = catalog.IsReady(request.Name, version);
        if (!ready)
        {
            // An unknown model or version is NOT_FOUND rather than "not ready".
            try
            {
                catalog.Describe(request.Name, version);
            }
            catch (InferenceException ex) when (ex.Kind == InferenceErrorKind.NotFound)
            {
                throw new RpcException(new Status(StatusCode.NotFound, ex.Message));
            }
            catch (InferenceException)
            {
                // Known but not servable: "not ready" is the answer.
            }
        }
        return Task.FromResult(new ModelReadyResponse { Ready = ready });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = ServerIdentity.Name, Version = ServerIdentity.Version };
        response.Extensions.Add(ServerIdentity.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var descriptor = Guard(() => catalog.Describe(request.Name, NullIfEmpty(request.Version)));
        var config = descriptor.Config;
        var response = new ModelMetadataResponse { Name = descriptor.Name, Platform = config.Platform };
        response.Versions.Add(descriptor.ReadyVersions);
        foreach (var input in config.Input)
        {
            response.Inputs.Add(Tensor(config, input));
        }
        foreach (var output in config.Output)
        {
            response.Outputs.Add(Tensor(config, output));
        }
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        InferenceRequest? decoded = null;
        InferenceResponse? response = null;
        try
        {
            decoded = GrpcInferConverter.ToRequest(request);
            response = await dispatcher.InferAsync(decoded, context.CancellationToken);
            return GrpcInferConverter.ToMessage(response);
        }
        catch (InferenceException ex)
        {
            if (decoded is null)
            {
                rejected.Record(request.ModelName, ex, started);
            }
            if (ex.Kind == InferenceErrorKind.Internal)
            {
                LogInternal(logger, ex, request.ModelName);
            }
            throw new RpcException(new Status(ProtocolErrors.GrpcStatus(ex.Kind), ex.Message));
        }
        catch (Exception ex) when (ex is not (RpcException or OperationCanceledException))
        {
            LogUnexpected(logger, ex, request.ModelName);
            throw new RpcException(new Status(StatusCode.Internal, "the server failed while handling the request; see the server log"));
        }
        finally
        {
            response?.Dispose();
            decoded?.Dispose();
        }
    }

    private static ModelMetadataResponse.Types.TensorMetadata Tensor(Contracts.Models.ModelConfig config, Contracts.Models.ModelTensorConfig tensor)
    {
        var metadata = new ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = tensor.DataType };
        metadata.Shape.Add(ModelTensorShapes.Published(config, tensor));
        return metadata;
    }

    private static T Guard<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (InferenceException ex)
        {
            throw new RpcException(new Status(ProtocolErrors.GrpcStatus(ex.Kind), ex.Message));
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC inference failed inside the server for model {Model}")]
    private static partial void LogInternal(ILogger logger, Exception exception, string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected failure in gRPC inference for model {Model}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string model);
}
