using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs.Json;

/// <summary>
/// Encodes an inference response in the Open Inference Protocol's JSON form. Outputs the client asked for in
/// binary (Triton's <c>binary_data</c> / <c>binary_data_output</c>) carry <c>parameters.binary_data_size</c> instead of
/// <c>data</c>; the caller appends their raw bytes after the JSON, in output order, and sends
/// <c>Inference-Header-Content-Length</c> with the JSON's length.
/// </summary>
public static class OipJsonResponseWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the JSON part; returns true when at least one output goes in binary after it.</summary>
    public static bool Write(IBufferWriter<byte> destination, InferenceResponse response, InferenceRequest request)
    {
        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        var anyBinary = false;
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, response.ModelName);
        writer.WriteString("model_version"u8, response.ModelVersion);
        if (response.Id is { Length: > 0 } id)
        {
            writer.WriteString("id"u8, id);
        }
        writer.WriteStartArray("outputs"u8);
        foreach (var output in response.Outputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, output.Name);
            writer.WriteString("datatype"u8, output.DataType.ToOipName());
            writer.WriteStartArray("shape"u8);
            foreach (var dim in output.Shape)
            {
                writer.WriteNumberValue(dim);
            }
            writer.WriteEndArray();
            if (IsBinaryOutput(request, output.Name))
            {
                anyBinary = true;
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, output.Length);
                writer.WriteEndObject();
            }
            else
            {
                writer.WritePropertyName("data"u8);
                JsonTensorDataWriter.WriteFlat(writer, output.DataType, output.Span);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        return anyBinary;
    }

    /// <summary>Whether the client asked for this output in binary: its own binary_data, else the request's binary_data_output.</summary>
    public static bool IsBinaryOutput(InferenceRequest request, string outputName)
    {
        if (request.Outputs is { } requested)
        {
            foreach (var output in requested)
            {
                if (output.Name == outputName)
                {
                    return output.Binary;
                }
            }
        }
        return request.BinaryDataOutput;
    }
}
