using System.Text.Json;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// Errors the gateway answers itself, in the form of the route: OIP's <c>{"error": "..."}</c> on <c>/v2</c> and
/// <c>/v1</c>, problem+json on <c>/api/v1</c>, a gRPC status (trailers-only) on gRPC.
/// </summary>
internal static class GatewayErrors
{
    public static Task WriteAsync(HttpContext context, ErrorStyle style, int status, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }
        switch (style)
        {
            case ErrorStyle.Grpc:
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/grpc";
                response.Headers["grpc-status"] = GrpcStatus(status);
                response.Headers["grpc-message"] = Uri.EscapeDataString(message);
                return Task.CompletedTask;
            case ErrorStyle.Problem:
                response.StatusCode = status;
                response.ContentType = "application/problem+json";
                return WriteJsonAsync(context, (status, message), static (writer, state) =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("type", $"https://tools.ietf.org/html/rfc9110#section-15.{(state.status >= 500 ? 6 : 5)}");
                    writer.WriteString("title", ReasonPhrase(state.status));
                    writer.WriteNumber("status", state.status);
                    writer.WriteString("detail", state.message);
                    writer.WriteEndObject();
                });
            default:
                response.StatusCode = status;
                response.ContentType = "application/json";
                return WriteJsonAsync(context, message, static (writer, message) =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("error", message);
                    writer.WriteEndObject();
                });
        }
    }

    // Messages quote names ('infer:m', <key>): kept readable, as JSON allows in a response body.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static async Task WriteJsonAsync<T>(HttpContext context, T state, Action<Utf8JsonWriter, T> write)
    {
        await using var writer = new Utf8JsonWriter(context.Response.Body, s_writerOptions);
        write(writer, state);
        await writer.FlushAsync(context.RequestAborted);
    }

    private static string GrpcStatus(int httpStatus) => httpStatus switch
    {
        400 => "3",  // INVALID_ARGUMENT
        401 => "16", // UNAUTHENTICATED
        403 => "7",  // PERMISSION_DENIED
        404 => "5",  // NOT_FOUND
        413 or 429 => "8", // RESOURCE_EXHAUSTED
        502 or 503 => "14", // UNAVAILABLE
        504 => "4",  // DEADLINE_EXCEEDED
        _ => "13",   // INTERNAL
    };

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
