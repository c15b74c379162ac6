using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs.Json;

/// <summary>
/// Decodes an Open Inference Protocol (KServe V2) REST inference request, including Triton's binary tensor
/// extension: <paramref name="binary"/> is whatever followed the JSON header (<c>Inference-Header-Content-Length</c>),
/// consumed in input order by inputs that carry <c>parameters.binary_data_size</c>.
/// Every failure is an <see cref="InferenceException"/> of kind InvalidArgument whose message names what was wrong.
/// </summary>
public static class OipJsonRequestReader
{
    // Trailing content is read (and refused) by the decoder, which can say why: usually a missing Inference-Header-Content-Length.
    private static readonly JsonReaderOptions TopLevelOptions = new() { AllowMultipleValues = true };

    public static InferenceRequest Read(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, string modelName, string? modelVersion)
    {
        var inputs = new List<TensorData>(2);
        try
        {
            var reader = new Utf8JsonReader(json, TopLevelOptions);
            string? id = null;
            List<(string Name, bool? Binary)>? outputs = null;
            var parameters = new RequestParameters();
            var binaryOffset = 0;
            var sawInputs = false;

            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw InferenceException.Invalid("the request body must be a JSON object with \"inputs\"");
            }
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("inputs"u8))
                {
                    reader.Read();
                    Expect(ref reader, JsonTokenType.StartArray, "'inputs' must be an array of input tensors");
                    sawInputs = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        inputs.Add(ReadInput(ref reader, json, binary, ref binaryOffset, inputs));
                    }
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    reader.Read();
                    outputs = ReadOutputs(ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    parameters = ReadRequestParameters(ref reader);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    Expect(ref reader, JsonTokenType.String, "'id' must be a string");
                    id = reader.GetString();
                }
                else
                {
                    // model_name, model_version and fields of later protocol revisions.
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.Read())
            {
                throw InferenceException.Invalid(
                    $"unexpected content after the JSON object at byte {reader.TokenStartIndex}; binary tensor data needs the Inference-Header-Content-Length header");
            }
            if (!sawInputs || inputs.Count == 0)
            {
                throw InferenceException.Invalid("the request has no inputs; expected \"inputs\": [{\"name\", \"datatype\", \"shape\", \"data\"}, ...]");
            }
            if (binaryOffset != binary.Length)
            {
                throw InferenceException.Invalid(
                    $"the body carries {binary.Length} bytes of binary tensor data after the JSON header but the inputs' binary_data_size add up to {binaryOffset}");
            }

            var request = new InferenceRequest
            {
                ModelName = modelName,
                ModelVersion = modelVersion,
                Id = id,
                Outputs = ResolveBinaryDefault(outputs, parameters.BinaryDataOutput),
                BinaryDataOutput = parameters.BinaryDataOutput,
                Timeout = parameters.Timeout,
            };
            request.Inputs.AddRange(inputs);
            return request;
        }
        catch (JsonException ex)
        {
            DisposeAll(inputs);
            throw new InferenceException(InferenceErrorKind.InvalidArgument, $"the request body is not valid JSON: {ex.Message}", ex);
        }
        catch
        {
            DisposeAll(inputs);
            throw;
        }
    }

    private static void DisposeAll(List<TensorData> tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }

    private static TensorData ReadInput(
        ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, ref int binaryOffset, List<TensorData> previous)
    {
        var position = previous.Count;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid($"input {position} must be a JSON object with name, datatype, shape and data");
        }
        string? name = null;
        TensorDataType? dataType = null;
        long[]? shape = null;
        long? binarySize = null;
        TensorData? decoded = null;
        var deferredStart = -1L;
        var deferredEnd = -1L;
        try
        {
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw InferenceException.Invalid($"input {position}: 'name' must be a string");
                    }
                    name = reader.GetString();
                }
                else if (reader.ValueTextEquals("datatype"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw InferenceException.Invalid($"{Subject(name, position)}: 'datatype' must be a string such as \"FP32\"");
                    }
                    if (!TensorDataTypes.TryParse(reader.ValueSpan, out var parsed) || reader.ValueIsEscaped)
                    {
                        throw InferenceException.Invalid(
                            $"{Subject(name, position)}: datatype \"{reader.GetString()}\" is not supported; expected one of {TensorDataTypes.SupportedNames}");
                    }
                    dataType = parsed;
                }
                else if (reader.ValueTextEquals("shape"u8))
                {
                    reader.Read();
                    shape = ReadShape(ref reader, name, position);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    binarySize = ReadInputParameters(ref reader, name, position);
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    if (decoded is not null || deferredStart >= 0)
                    {
                        throw InferenceException.Invalid($"{Subject(name, position)}: 'data' appears twice");
                    }
                    if (name is not null && dataType is { } type && shape is not null)
                    {
                        decoded = JsonTensorDataReader.Read(ref reader, name, type, shape, json.Length - reader.TokenStartIndex);
                    }
                    else
                    {
                        // The object named its datatype or shape after its data: note where the data is and decode it below.
                        deferredStart = reader.TokenStartIndex;
                        reader.Skip();
                        deferredEnd = reader.BytesConsumed;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (name is null)
            {
                throw InferenceException.Invalid($"input {position} has no 'name'");
            }
            foreach (var earlier in previous)
            {
                if (earlier.Name == name)
                {
                    throw InferenceException.Invalid($"input '{name}' appears more than once in 'inputs'");
                }
            }
            if (dataType is not { } dt)
            {
                throw InferenceException.Invalid($"input '{name}' has no 'datatype'; expected one of {TensorDataTypes.SupportedNames}");
            }
            if (shape is null)
            {
                throw InferenceException.Invalid($"input '{name}' has no 'shape'");
            }

            if (binarySize is { } size)
            {
                if (decoded is not null || deferredStart >= 0)
                {
                    throw InferenceException.Invalid($"input '{name}' has both 'data' and a binary_data_size; send one or the other");
                }
                return SliceBinary(name, dt, shape, size, binary, ref binaryOffset);
            }
            if (decoded is not null)
            {
                return decoded;
            }
            if (deferredStart < 0)
            {
                throw InferenceException.Invalid($"input '{name}' has no 'data' (nor a binary_data_size parameter for binary tensor data)");
            }
            var slice = json[(int)deferredStart..(int)deferredEnd];
            var dataReader = new Utf8JsonReader(slice, isFinalBlock: true, state: default);
            dataReader.Read();
            return JsonTensorDataReader.Read(ref dataReader, name, dt, shape, slice.Length);
        }
        catch
        {
            decoded?.Dispose();
            throw;
        }
    }

    private static TensorData SliceBinary(
        string name, TensorDataType dataType, long[] shape, long size, ReadOnlySpan<byte> binary, ref int offset)
    {
        if (size > binary.Length - offset)
        {
            throw InferenceException.Invalid(
                $"input '{name}': binary_data_size is {size} but only {binary.Length - offset} bytes of binary data remain after the JSON header");
        }
        var tensor = RawTensorCodec.Copy(name, dataType, shape, binary.Slice(offset, (int)size));
        offset += (int)size;
        return tensor;
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, string? name, int position)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw InferenceException.Invalid($"{Subject(name, position)}: 'shape' must be an array of integers");
        }
        Span<long> dims = stackalloc long[16];
        var rank = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim))
            {
                throw InferenceException.Invalid($"{Subject(name, position)}: 'shape' must be an array of integers");
            }
            if (dim < 0)
            {
                throw InferenceException.Invalid($"{Subject(name, position)}: shape dimension {rank} is {dim}; every dimension must be 0 or more");
            }
            if (rank == dims.Length)
            {
                throw InferenceException.Invalid($"{Subject(name, position)}: shape has more than {dims.Length} dimensions");
            }
            dims[rank++] = dim;
        }
        return dims[..rank].ToArray();
    }

    private static long? ReadInputParameters(ref Utf8JsonReader reader, string? name, int position)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid($"{Subject(name, position)}: 'parameters' must be a JSON object");
        }
        long? binarySize = null;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("binary_data_size"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var size) || size < 0)
                {
                    throw InferenceException.Invalid($"{Subject(name, position)}: binary_data_size must be a non-negative integer");
                }
                binarySize = size;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return binarySize;
    }

    private static List<(string Name, bool? Binary)> ReadOutputs(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray, "'outputs' must be an array of {\"name\": ...} objects");
        var outputs = new List<(string Name, bool? Binary)>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, $"output {outputs.Count} must be a JSON object with a name");
            string? name = null;
            bool? binaryData = null;
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    Expect(ref reader, JsonTokenType.String, $"output {outputs.Count}: 'name' must be a string");
                    name = reader.GetString();
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    Expect(ref reader, JsonTokenType.StartObject, $"output {outputs.Count}: 'parameters' must be a JSON object");
                    while (NextProperty(ref reader))
                    {
                        var isBinaryData = reader.ValueTextEquals("binary_data"u8);
                        reader.Read();
                        if (isBinaryData)
                        {
                            binaryData = ReadBool(ref reader, $"output {outputs.Count}: binary_data");
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (name is null)
            {
                throw InferenceException.Invalid($"output {outputs.Count} has no 'name'");
            }
            // Null: binary_data not given, so binary_data_output decides once the whole request is read.
            outputs.Add((name, binaryData));
        }
        return outputs;
    }

    private static List<RequestedOutput>? ResolveBinaryDefault(List<(string Name, bool? Binary)>? outputs, bool binaryDataOutput)
    {
        if (outputs is null)
        {
            return null;
        }
        var resolved = new List<RequestedOutput>(outputs.Count);
        foreach (var (name, binary) in outputs)
        {
            resolved.Add(new RequestedOutput(name, binary ?? binaryDataOutput));
        }
        return resolved;
    }

    private static RequestParameters ReadRequestParameters(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "'parameters' must be a JSON object");
        var parameters = new RequestParameters();
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("binary_data_output"u8))
            {
                reader.Read();
                parameters.BinaryDataOutput = ReadBool(ref reader, "binary_data_output");
            }
            else if (reader.ValueTextEquals("timeout"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var micros) || micros < 0)
                {
                    throw InferenceException.Invalid("the timeout parameter must be a non-negative integer number of microseconds");
                }
                parameters.Timeout = micros == 0 ? null : TimeSpan.FromMicroseconds(micros);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return parameters;
    }

    private static bool ReadBool(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw InferenceException.Invalid($"{what} must be true or false"),
    };

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw InferenceException.Invalid("the request body ends in the middle of a JSON object");
        }
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        if (reader.TokenType != type)
        {
            throw InferenceException.Invalid(message);
        }
    }

    private static string Subject(string? name, int position) => name is null ? $"input {position}" : $"input '{name}'";

    private struct RequestParameters
    {
        public bool BinaryDataOutput;
        public TimeSpan? Timeout;
    }
}
