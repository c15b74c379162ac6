using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Hyperion.Benchmarks.Load;

namespace Hyperion.Benchmarks.Pipelines;

/// <summary>
/// What a client does without a pipeline: calls the first model, decodes its answer, sends the output it needs to
/// the second model as that model's input, and reads the second answer; both calls through the gateway, one after
/// the other. JSON throughout, or the binary tensor extension throughout (the hand-off then copies raw bytes).
/// </summary>
/// <param name="handOff">The first model's output that becomes <paramref name="secondInput"/>.</param>
/// <param name="finalOutputs">The second model's outputs, asked for in binary when the client speaks binary.</param>
internal sealed class BackToBackClient(
    Uri firstUrl, Uri secondUrl, string authorization, string handOff, string secondInput, IReadOnlyList<string> finalOutputs)
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly MediaTypeHeaderValue BinaryType = new("application/octet-stream");
    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary>One measured exchange: both calls, the second answer read to the end; true when both succeeded.</summary>
    public Exchange Exchange(RequestBody first) => async (invoker, cancellationToken) =>
    {
        try
        {
            using var answer = await CallAsync(invoker, first, cancellationToken);
            await using var body = await answer.Content.ReadAsStreamAsync(cancellationToken);
            await body.CopyToAsync(Stream.Null, cancellationToken);
            return answer.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidDataException)
        {
            // A first answer the client cannot read counts as a failed exchange, as a non-2xx does.
            return false;
        }
    };

    /// <summary>
    /// Both calls; the answer is the second model's, or the first model's when that one failed (the second call is then
    /// not made, as a client would not make it).
    /// </summary>
    public async Task<HttpResponseMessage> CallAsync(HttpMessageInvoker invoker, RequestBody first, CancellationToken cancellationToken)
    {
        using var firstRequest = Post(firstUrl, first.Bytes, first.Encoding == "binary" ? BinaryType : JsonType, first.Headers);
        var firstAnswer = await invoker.SendAsync(firstRequest, cancellationToken);
        if (!firstAnswer.IsSuccessStatusCode)
        {
            return firstAnswer;
        }
        using (firstAnswer)
        {
            var bytes = await firstAnswer.Content.ReadAsByteArrayAsync(cancellationToken);
            using var second = first.Encoding == "binary"
                ? BinaryHandOff(bytes, HeaderLength(firstAnswer, bytes.Length))
                : JsonHandOff(bytes);
            return await invoker.SendAsync(second, cancellationToken);
        }
    }

    /// <summary>The second request in JSON: the first answer's output, shape and datatype as decoded, under the second model's input name.</summary>
    private HttpRequestMessage JsonHandOff(byte[] firstAnswer)
    {
        using var json = JsonDocument.Parse(firstAnswer);
        var output = FindOutput(json.RootElement);
        var buffer = new ArrayBufferWriter<byte>(firstAnswer.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            writer.WriteStartObject();
            writer.WriteString("name"u8, secondInput);
            writer.WritePropertyName("shape"u8);
            output.GetProperty("shape").WriteTo(writer);
            writer.WritePropertyName("datatype"u8);
            output.GetProperty("datatype").WriteTo(writer);
            writer.WritePropertyName("data"u8);
            output.GetProperty("data").WriteTo(writer);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Post(secondUrl, buffer.WrittenMemory.ToArray(), JsonType, NoHeaders);
    }

    /// <summary>
    /// The second request in the binary extension: the first answer's header read for the output's shape, datatype
    /// and place among the raw bytes, which are copied as they are after a header of the second request's own.
    /// </summary>
    private HttpRequestMessage BinaryHandOff(byte[] firstAnswer, int headerLength)
    {
        using var json = JsonDocument.Parse(firstAnswer.AsMemory(0, headerLength));
        var offset = headerLength;
        var size = 0;
        JsonElement handed = default;
        foreach (var output in json.RootElement.GetProperty("outputs").EnumerateArray())
        {
            var bytes = output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var length) ? length.GetInt32() : 0;
            if (output.GetProperty("name").ValueEquals(handOff))
            {
                handed = output;
                size = bytes;
                break;
            }
            offset += bytes;
        }
        if (handed.ValueKind == JsonValueKind.Undefined || size == 0 || offset + size > firstAnswer.Length)
        {
            throw new InvalidDataException($"the first answer has no binary output '{handOff}'");
        }

        var buffer = new ArrayBufferWriter<byte>(256 + size);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            writer.WriteStartObject();
            writer.WriteString("name"u8, secondInput);
            writer.WritePropertyName("shape"u8);
            handed.GetProperty("shape").WriteTo(writer);
            writer.WritePropertyName("datatype"u8);
            handed.GetProperty("datatype").WriteTo(writer);
            writer.WriteStartObject("parameters"u8);
            writer.WriteNumber("binary_data_size"u8, size);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartArray("outputs"u8);
            foreach (var name in finalOutputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, name);
                writer.WriteStartObject("parameters"u8);
                writer.WriteBoolean("binary_data"u8, true);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        var header = buffer.WrittenCount;
        buffer.Write(firstAnswer.AsSpan(offset, size));
        return Post(secondUrl, buffer.WrittenMemory.ToArray(), BinaryType,
            new Dictionary<string, string> { [RequestBodies.InferenceHeaderContentLength] = header.ToString(CultureInfo.InvariantCulture) });
    }

    private JsonElement FindOutput(JsonElement answer)
    {
        foreach (var output in answer.GetProperty("outputs").EnumerateArray())
        {
            if (output.GetProperty("name").ValueEquals(handOff))
            {
                return output;
            }
        }
        throw new InvalidDataException($"the first answer has no output '{handOff}'");
    }

    private static int HeaderLength(HttpResponseMessage answer, int bodyLength) =>
        answer.Headers.TryGetValues(RequestBodies.InferenceHeaderContentLength, out var values)
            && int.TryParse(values.First(), NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length <= bodyLength
                ? length
                : bodyLength;

    private HttpRequestMessage Post(Uri url, byte[] body, MediaTypeHeaderValue contentType, IReadOnlyDictionary<string, string> headers)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = contentType;
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }
}
