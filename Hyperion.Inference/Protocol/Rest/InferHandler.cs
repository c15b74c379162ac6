using System.Diagnostics;
using System.Buffers;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>
/// <c>POST /v2/models/{model}[/versions/{version}]/infer</c>: JSON, or Triton's binary tensor extension when the
/// request carries <c>Inference-Header-Content-Length</c> (JSON header, then raw tensor bytes).
/// </summary>
internal sealed class InferHandler(
    IInferenceDispatcher dispatcher, RejectedRequests rejected, IOptions<InferenceProtocolOptions> options, ILogger<InferHandler> logger)
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
    private const string BinaryContentType = "application/octet-stream";

    private readonly long _maxBodyBytes = options.Value.MaxRequestBodyBytes;

    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var routeValues = context.Request.RouteValues;
        var model = (string)routeValues["model"]!;
        var version = routeValues["version"] as string;
        InferenceRequest? request = null;
        InferenceResponse? response = null;
        try
        {

            using (var body = await RequestBody.ReadAsync(context.Request, _maxBodyBytes, context.RequestAborted))
            {
                request = Decode(context.Request.Headers, body, model, version);
            }
            response = await dispatcher.InferAsync(request, context.RequestAborted);
            await WriteResponseAsync(context, request, response);
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

    /// <summary>The rows header's value; the common small counts without a string per response.</summary>
    internal static string RowsText(int rows) => rows is >= 0 and < 64 ? s_smallCounts[rows] : rows.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string[] s_smallCounts = [.. Enumerable.Range(0, 64).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static InferenceRequest Decode(IHeaderDictionary headers, RequestBody body, string model, string? version)
    {
        var span = body.Span;
        var jsonLength = span.Length;
        if (headers.TryGetValue(HeaderLengthHeader, out var headerValue))
        {
            if (!int.TryParse(headerValue.ToString(), out jsonLength) || jsonLength < 0 || jsonLength > span.Length)
            {
                throw InferenceException.Invalid(
                    $"{HeaderLengthHeader} is '{headerValue}'; expected the length in bytes of the JSON header, from 0 to the body's {span.Length} bytes");
            }
        }
        return OipJsonRequestReader.Read(span[..jsonLength], span[jsonLength..], model, version);
    }

    private static async Task WriteResponseAsync(HttpContext context, InferenceRequest request, InferenceResponse response)
    {
        using var json = new PooledBufferWriter(1024);
        var anyBinary = OipJsonResponseWriter.Write(json, response, request);
        var http = context.Response;
        http.Headers[UsageCounters.RowsHeader] = RowsText(response.Rows);
        if (!anyBinary)
        {
            await JsonBody.SendAsync(http, StatusCodes.Status200OK, JsonBody.ContentType, json, context.RequestAborted);
            return;
        }

        long length = json.WrittenCount;
        foreach (var output in response.Outputs)
        {
            if (OipJsonResponseWriter.IsBinaryOutput(request, output.Name))
            {
                length += output.Length;
            }
        }
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = BinaryContentType;
        http.ContentLength = length;
        http.Headers[HeaderLengthHeader] = json.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var pipe = http.BodyWriter;
        pipe.Write(json.WrittenSpan);
        foreach (var output in response.Outputs)
        {
            if (OipJsonResponseWriter.IsBinaryOutput(request, output.Name))
            {
                pipe.Write(output.Span);
            }
        }
        await pipe.FlushAsync(context.RequestAborted);
    }
}
