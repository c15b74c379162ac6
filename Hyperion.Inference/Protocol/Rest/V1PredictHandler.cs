using System.Diagnostics;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>KServe V1: <c>POST /v1/models/{model}:predict</c> for single-input models, and <c>GET /v1/models/{model}</c>.</summary>
internal sealed class V1PredictHandler(
    IModelCatalog catalog,
    IInferenceDispatcher dispatcher,
    RejectedRequests rejected,
    IOptions<InferenceProtocolOptions> options,
    ILogger<V1PredictHandler> logger)
{
    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public async Task PredictAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var model = (string)context.Request.RouteValues["model"]!;
        var version = context.Request.RouteValues["version"] as string;
        InferenceRequest? request = null;
        InferenceResponse? response = null;
        try
        {
            var (inputName, dataType) = SingleInput(model, version);
            using (var body = await RequestBody.ReadAsync(context.Request, _maxBodyBytes, context.RequestAborted))
            {
                request = KServeV1Codec.ReadPredictRequest(body.Span, model, version, inputName, dataType);
            }
            response = await dispatcher.InferAsync(request, context.RequestAborted);
            using var json = new PooledBufferWriter(1024);
            KServeV1Codec.WritePredictResponse(json, response);
            context.Response.Headers[Hyperion.Contracts.ControlPlane.UsageCounters.RowsHeader] = InferHandler.RowsText(response.Rows);
            await JsonBody.SendAsync(context.Response, StatusCodes.Status200OK, JsonBody.ContentType, json, context.RequestAborted);
        }
        catch (Exception ex)
        {
            if (request is null && ex is InferenceException refused)
            {
                rejected.Record(model, refused, started);
            }
            await RestFailures.WriteAsync(context, ex, logger);
        }
        finally
        {
            response?.Dispose();
            request?.Dispose();
        }
    }

    /// <summary>V1's model status: <c>{"name": ..., "ready": ...}</c>, 404 for an unknown model.</summary>
    public async Task StatusAsync(HttpContext context)
    {
        try
        {
            var model = (string)context.Request.RouteValues["model"]!;
            catalog.Describe(model, null);
            await JsonBody.WriteAsync(context, StatusCodes.Status200OK, (model, ready: catalog.IsReady(model, null)), static (writer, state) =>
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, state.model);
                writer.WriteBoolean("ready"u8, state.ready);
                writer.WriteEndObject();
            });
        }
        catch (Exception ex)
        {
            await RestFailures.WriteAsync(context, ex, logger);
        }
    }

    private (string Name, TensorDataType DataType) SingleInput(string model, string? version)
    {
        var config = catalog.Describe(model, version).Config;
        if (config.Input.Count != 1)
        {
            throw InferenceException.Invalid(
                $"model '{model}' has {config.Input.Count} inputs; the V1 protocol serves single-input models, use POST /v2/models/{model}/infer");
        }
        var input = config.Input[0];
        if (!TensorDataTypes.TryParse(input.DataType, out var dataType))
        {
            throw new InferenceException(InferenceErrorKind.Internal, $"model '{model}' input '{input.Name}' has datatype '{input.DataType}', which the server cannot decode");
        }
        return (input.Name, dataType);
    }
}
