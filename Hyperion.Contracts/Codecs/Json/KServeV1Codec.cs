using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs.Json;

/// <summary>
/// KServe's V1 protocol for single-input models: <c>{"instances": [row, row, ...]}</c>, where each instance is one
/// row (a scalar or nested arrays), becomes one input tensor of shape [rows, ...row shape]; the outputs come back
/// as <c>{"predictions": [...]}</c>, one entry per row (an object keyed by output name when the model has several).
/// </summary>
public static class KServeV1Codec
{
    private const int MaxRank = 16;
    // Trailing content is read and refused by the decoder, with a message that says where it starts.
    private static readonly JsonReaderOptions TopLevelOptions = new() { AllowMultipleValues = true };

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static InferenceRequest ReadPredictRequest(
        ReadOnlySpan<byte> json, string modelName, string? modelVersion, string inputName, TensorDataType dataType)
    {
        try
        {
            var reader = new Utf8JsonReader(json, TopLevelOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid("the request body must be a JSON object: {\"instances\": [...]}");
            }
            var subject = $"input '{inputName}' (from instances)";
            TensorData? tensor = null;
            try
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isInstances = reader.ValueTextEquals("instances"u8);
                    reader.Read();
                    if (!isInstances)
                    {
                        reader.Skip();
                        continue;
                    }
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw InferenceException.Invalid("'instances' must be an array with one entry per row");
                    }
                    if (tensor is not null)
                    {
                        throw InferenceException.Invalid("'instances' appears twice");
                    }
                    var shape = InstancesShape(reader);
                    tensor = JsonTensorDataReader.Read(ref reader, inputName, dataType, shape, json.Length - reader.TokenStartIndex, subject);
                }
                if (reader.Read())
                {
                    throw InferenceException.Invalid($"unexpected content after the JSON object at byte {reader.TokenStartIndex}");
                }
                if (tensor is null)
                {
                    throw InferenceException.Invalid("the request has no 'instances'; expected {\"instances\": [row, ...]}");
                }
                var request = new InferenceRequest { ModelName = modelName, ModelVersion = modelVersion };
                request.Inputs.Add(tensor);
                return request;
            }
            catch
            {
                tensor?.Dispose();
                throw;
            }
        }
        catch (JsonException ex)
        {
            throw new InferenceException(InferenceErrorKind.InvalidArgument, $"the request body is not valid JSON: {ex.Message}", ex);
        }
    }

    public static void WritePredictResponse(IBufferWriter<byte> destination, InferenceResponse response)
    {
        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        writer.WriteStartObject();
        writer.WriteStartArray("predictions"u8);
        var outputs = response.Outputs;
        if (outputs.Count == 1)
        {
            var output = outputs[0];
            var offset = 0;
            var rows = output.Shape.Length == 0 ? 1 : output.Shape[0];
            ReadOnlySpan<long> rowDims = output.Shape.Length == 0 ? [] : output.Shape.AsSpan(1);
            for (long row = 0; row < rows; row++)
            {
                JsonTensorDataWriter.WriteNested(writer, output.DataType, output.Span, rowDims, ref offset);
            }
        }
        else if (outputs.Count > 1)
        {
            var rows = RowsOf(outputs);
            Span<int> offsets = outputs.Count <= 32 ? stackalloc int[outputs.Count] : new int[outputs.Count];
            for (long row = 0; row < rows; row++)
            {
                writer.WriteStartObject();
                for (var i = 0; i < outputs.Count; i++)
                {
                    var output = outputs[i];
                    writer.WritePropertyName(output.Name);
                    JsonTensorDataWriter.WriteNested(writer, output.DataType, output.Span, output.Shape.AsSpan(1), ref offsets[i]);
                }
                writer.WriteEndObject();
            }
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
    }

    private static long RowsOf(List<TensorData> outputs)
    {
        var rows = -1L;
        foreach (var output in outputs)
        {
            var first = output.Shape.Length == 0 ? -1 : output.Shape[0];
            if (first < 0 || (rows >= 0 && first != rows))
            {
                throw new InferenceException(InferenceErrorKind.InvalidArgument,
                    "the model's outputs do not share a leading (row) dimension, so they cannot be split into V1 predictions; use the V2 protocol");
            }
            rows = first;
        }
        return rows;
    }

    /// <summary>[instances, ...the first instance's nested shape]; the data reader then checks every row has as many elements.</summary>
    private static long[] InstancesShape(Utf8JsonReader reader)
    {
        Span<long> dims = stackalloc long[MaxRank];
        var rank = 0;
        // The reader is a copy: probing here leaves the caller positioned at the array.
        while (reader.TokenType == JsonTokenType.StartArray)
        {
            if (rank == MaxRank)
            {
                throw InferenceException.Invalid($"instances nest deeper than {MaxRank} dimensions");
            }
            var first = reader;
            var count = 0L;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (count == 0)
                {
                    first = reader;
                }
                count++;
                reader.Skip();
            }
            dims[rank++] = count;
            if (count == 0)
            {
                break;
            }
            reader = first;
        }
        return dims[..rank].ToArray();
    }
}
