using System.Buffers;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>Small JSON answers (metadata, health, errors), written through a pooled buffer with a Content-Length.</summary>
internal static class JsonBody
{
    public const string ContentType = "application/json";

    // Bodies are JSON served as application/json, never embedded in HTML: quotes and non-ASCII stay readable.
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the object <paramref name="write"/> produces with the given status.</summary>
    public static async Task WriteAsync<TState>(HttpContext context, int status, TState state, Action<Utf8JsonWriter, TState> write)
    {
        using var buffer = new PooledBufferWriter(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer, state);
        }
        await SendAsync(context.Response, status, ContentType, buffer, context.RequestAborted);
    }

    /// <summary>The Open Inference Protocol's error body, <c>{"error": "..."}</c>, with the status the error's kind maps to.</summary>
    public static Task WriteErrorAsync(HttpContext context, InferenceException error)
    {
        if (error.Kind == InferenceErrorKind.QueueFull)
        {
            context.Response.Headers.RetryAfter = ProtocolErrors.RetryAfterSeconds;
        }
        return WriteErrorAsync(context, ProtocolErrors.HttpStatus(error.Kind), error.Message);
    }

    public static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, message, static (writer, text) =>
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, text);
            writer.WriteEndObject();
        });

    public static async Task SendAsync(HttpResponse response, int status, string contentType, PooledBufferWriter body, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.WrittenCount;
        response.BodyWriter.Write(body.WrittenSpan);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }
}
