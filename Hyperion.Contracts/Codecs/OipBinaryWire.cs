using System.Text.Json;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs;

/// <summary>
/// Requests to an inference replica, and its answers, in Triton's binary tensor extension (a small JSON header, then
/// each input's raw bytes) asking for binary outputs: a tensor passes from a pipeline step to the next, or from a
/// batch job's lines to the model, as bytes, never printed as JSON numbers and parsed back.
/// </summary>
public static class OipBinaryWire
{
    public const string HeaderLengthName = "Inference-Header-Content-Length";
    public const string ContentType = "application/octet-stream";

    /// <summary>The request body, and in <paramref name="headerLength"/> the length of its JSON header.</summary>
    public static byte[] EncodeRequest(IReadOnlyList<(string Input, TensorData Tensor)> inputs, out int headerLength)
    {
        using var header = new PooledBufferWriter(256);
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            foreach (var (input, tensor) in inputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, input);
                writer.WriteString("datatype"u8, tensor.DataType.ToOipName());
                writer.WriteStartArray("shape"u8);
                foreach (var dim in tensor.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, tensor.Length);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartObject("parameters"u8);
            writer.WriteBoolean("binary_data_output"u8, true);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        headerLength = header.WrittenCount;
        var total = headerLength;
        foreach (var (_, tensor) in inputs)
        {
            total += tensor.Length;
        }
        var body = new byte[total];
        header.WrittenSpan.CopyTo(body);
        var offset = headerLength;
        foreach (var (_, tensor) in inputs)
        {
            tensor.Span.CopyTo(body.AsSpan(offset));
            offset += tensor.Length;
        }
        return body;
    }

    /// <summary>
    /// The outputs of a replica's 200 answer: binary ones (<c>parameters.binary_data_size</c>) from the bytes after the
    /// header, in order; JSON ones from their <c>data</c>. <paramref name="headerLength"/> is -1 for an all-JSON answer.
    /// </summary>
    /// <exception cref="InferenceException">The answer is not an OIP response the gateway can read.</exception>
    public static List<TensorData> DecodeResponse(ReadOnlySpan<byte> body, int headerLength)
    {
        if (headerLength > body.Length)
        {
            throw InferenceException.Invalid($"{HeaderLengthName} is {headerLength} but the answer has {body.Length} bytes");
        }
        var json = headerLength >= 0 ? body[..headerLength] : body;
        var binary = headerLength >= 0 ? body[headerLength..] : [];
        var outputs = new List<TensorData>(2);
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid("the answer is not a JSON object");
            }
            var binaryOffset = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("outputs"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    outputs.Add(ReadOutput(ref reader, json.Length, binary, ref binaryOffset));
                }
            }
            return outputs;
        }
        catch
        {
            foreach (var output in outputs)
            {
                output.Dispose();
            }
            throw;
        }
    }

    /// <summary>The <c>error</c> of an OIP error answer, or null when it has none.</summary>
    public static string? ErrorOf(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isError = reader.ValueTextEquals("error"u8);
                reader.Read();
                if (isError && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: the caller says what status came back.
        }
        return null;
    }

    private static TensorData ReadOutput(ref Utf8JsonReader reader, int jsonLength, ReadOnlySpan<byte> binary, ref int binaryOffset)
    {
        string? name = null;
        TensorDataType? dataType = null;
        long[]? shape = null;
        long binarySize = -1;
        TensorData? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                dataType = TensorDataTypes.TryParse(reader.ValueSpan, out var parsed)
                    ? parsed
                    : throw InferenceException.Invalid($"output '{name}' has the unknown datatype '{reader.GetString()}'");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                reader.Read();
                var dims = new List<long>(4);
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    dims.Add(reader.GetInt64());
                }
                shape = [.. dims];
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isSize = reader.ValueTextEquals("binary_data_size"u8);
                    reader.Read();
                    if (isSize && reader.TokenType == JsonTokenType.Number)
                    {
                        binarySize = reader.GetInt64();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (name is null || dataType is null || shape is null)
                {
                    reader.Skip();
                    throw InferenceException.Invalid("an output's data comes before its name, datatype and shape");
                }
                data = JsonTensorDataReader.Read(ref reader, name, dataType.Value, shape, jsonLength - reader.BytesConsumed, $"output '{name}'");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (data is not null)
        {
            return data;
        }
        if (name is null || dataType is null || shape is null || binarySize < 0 || binarySize > binary.Length - binaryOffset)
        {
            throw InferenceException.Invalid($"output '{name}' has neither data nor binary data the answer holds");
        }
        var tensor = RawTensorCodec.Copy(name, dataType.Value, shape, binary.Slice(binaryOffset, (int)binarySize));
        binaryOffset += (int)binarySize;
        return tensor;
    }
}
