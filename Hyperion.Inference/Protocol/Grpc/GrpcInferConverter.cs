using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Protocol.Grpc.V2;

namespace Hyperion.Inference.Protocol.Grpc;

/// <summary>
/// ModelInfer messages to and from the protocol-independent request and response: raw contents are checked and
/// copied as bytes, typed contents are narrowed element by element with range checks; answers always use
/// <c>raw_output_contents</c>, which every OIP client reads and which carries FP16.
/// </summary>
internal static class GrpcInferConverter
{
    public static InferenceRequest ToRequest(ModelInferRequest message)
    {
        if (string.IsNullOrEmpty(message.ModelName))
        {
            throw InferenceException.Invalid("model_name is empty");
        }
        var raw = message.RawInputContents;
        if (raw.Count > 0 && raw.Count != message.Inputs.Count)
        {
            throw InferenceException.Invalid(
                $"raw_input_contents has {raw.Count} entries but there are {message.Inputs.Count} inputs; send one entry per input, in order");
        }

        List<RequestedOutput>? outputs = null;
        if (message.Outputs.Count > 0)
        {
            outputs = new List<RequestedOutput>(message.Outputs.Count);
            foreach (var output in message.Outputs)
            {
                outputs.Add(new RequestedOutput(output.Name));
            }
        }

        var request = new InferenceRequest
        {
            ModelName = message.ModelName,
            ModelVersion = string.IsNullOrEmpty(message.ModelVersion) ? null : message.ModelVersion,
            Id = string.IsNullOrEmpty(message.Id) ? null : message.Id,
            Outputs = outputs,
            Timeout = ReadTimeout(message.Parameters),
        };
        try
        {
            for (var i = 0; i < message.Inputs.Count; i++)
            {
                var input = message.Inputs[i];
                if (string.IsNullOrEmpty(input.Name))
                {
                    throw InferenceException.Invalid($"input {i} has no name");
                }
                if (!TensorDataTypes.TryParse(input.Datatype, out var dataType))
                {
                    throw InferenceException.Invalid(
                        $"input '{input.Name}': datatype '{input.Datatype}' is not supported; expected one of {TensorDataTypes.SupportedNames}");
                }
                var shape = new long[input.Shape.Count];
                input.Shape.CopyTo(shape, 0);
                var elements = JsonTensorDataReader.CheckedElementCount(shape, input.Name);

                if (raw.Count > 0)
                {
                    if (input.Contents is not null)
                    {
                        throw InferenceException.Invalid($"input '{input.Name}' has typed contents although raw_input_contents is used; send one or the other");
                    }
                    request.Inputs.Add(RawTensorCodec.Copy(input.Name, dataType, shape, raw[i].Span));
                }
                else if (input.Contents is { } contents)
                {
                    request.Inputs.Add(FromContents(input.Name, dataType, shape, elements, contents));
                }
                else
                {
                    throw InferenceException.Invalid($"input '{input.Name}' has no contents; set its contents or raw_input_contents");
                }
            }
            if (request.Inputs.Count == 0)
            {
                throw InferenceException.Invalid("the request has no inputs");
            }
            return request;
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    public static ModelInferResponse ToMessage(InferenceResponse response)
    {
        var message = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion,
            Id = response.Id ?? string.Empty,
        };
        foreach (var output in response.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor
            {
                Name = output.Name,
                Datatype = output.DataType.ToOipName(),
            };
            tensor.Shape.Add(output.Shape);
            message.Outputs.Add(tensor);
            message.RawOutputContents.Add(ByteString.CopyFrom(output.Span));
        }
        return message;
    }

    private static TimeSpan? ReadTimeout(MapField<string, InferParameter> parameters)
    {
        if (!parameters.TryGetValue("timeout", out var timeout))
        {
            return null;
        }
        if (timeout.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param || timeout.Int64Param < 0)
        {
            throw InferenceException.Invalid("the timeout parameter must be an int64_param: a non-negative number of microseconds");
        }
        return timeout.Int64Param == 0 ? null : TimeSpan.FromMicroseconds(timeout.Int64Param);
    }

    private static TensorData FromContents(string name, TensorDataType dataType, long[] shape, long elements, InferTensorContents contents)
    {
        var count = dataType switch
        {
            TensorDataType.Bool => contents.BoolContents.Count,
            TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => contents.IntContents.Count,
            TensorDataType.Int64 => contents.Int64Contents.Count,
            TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => contents.UintContents.Count,
            TensorDataType.UInt64 => contents.Uint64Contents.Count,
            TensorDataType.Fp32 => contents.Fp32Contents.Count,
            TensorDataType.Fp64 => contents.Fp64Contents.Count,
            TensorDataType.Bytes => contents.BytesContents.Count,
            _ => throw InferenceException.Invalid($"input '{name}': {dataType.ToOipName()} has no typed contents field; send it in raw_input_contents"),
        };
        if (count != elements)
        {
            throw InferenceException.Invalid(
                $"input '{name}': contents hold {count} elements but shape {JsonTensorDataReader.FormatShape(shape)} needs {elements}");
        }

        if (dataType == TensorDataType.Bytes)
        {
            var elementsList = contents.BytesContents;
            var size = 0L;
            for (var i = 0; i < elementsList.Count; i++)
            {
                size += 4 + elementsList[i].Length;
            }
            var bytesTensor = TensorData.Rent(name, dataType, shape, checked((int)size));
            var destination = bytesTensor.Span;
            for (var i = 0; i < elementsList.Count; i++)
            {
                var element = elementsList[i];
                BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)element.Length);
                element.Span.CopyTo(destination[4..]);
                destination = destination[(4 + element.Length)..];
            }
            return bytesTensor;
        }

        var tensor = TensorData.Rent(name, dataType, shape, count * dataType.ElementSize());
        try
        {
            var span = tensor.Span;
            switch (dataType)
            {
                case TensorDataType.Bool:
                    for (var i = 0; i < count; i++)
                    {
                        span[i] = contents.BoolContents[i] ? (byte)1 : (byte)0;
                    }
                    break;
                case TensorDataType.Int8:
                    for (var i = 0; i < count; i++)
                    {
                        span[i] = (byte)(sbyte)Narrow(contents.IntContents[i], sbyte.MinValue, sbyte.MaxValue, i, dataType, name);
                    }
                    break;
                case TensorDataType.Int16:
                    var shorts = MemoryMarshal.Cast<byte, short>(span);
                    for (var i = 0; i < count; i++)
                    {
                        shorts[i] = (short)Narrow(contents.IntContents[i], short.MinValue, short.MaxValue, i, dataType, name);
                    }
                    break;
                case TensorDataType.Int32:
                    CopyTo(contents.IntContents, MemoryMarshal.Cast<byte, int>(span));
                    break;
                case TensorDataType.Int64:
                    CopyTo(contents.Int64Contents, MemoryMarshal.Cast<byte, long>(span));
                    break;
                case TensorDataType.UInt8:
                    for (var i = 0; i < count; i++)
                    {
                        span[i] = (byte)Narrow(contents.UintContents[i], byte.MaxValue, i, dataType, name);
                    }
                    break;
                case TensorDataType.UInt16:
                    var ushorts = MemoryMarshal.Cast<byte, ushort>(span);
                    for (var i = 0; i < count; i++)
                    {
                        ushorts[i] = (ushort)Narrow(contents.UintContents[i], ushort.MaxValue, i, dataType, name);
                    }
                    break;
                case TensorDataType.UInt32:
                    CopyTo(contents.UintContents, MemoryMarshal.Cast<byte, uint>(span));
                    break;
                case TensorDataType.UInt64:
                    CopyTo(contents.Uint64Contents, MemoryMarshal.Cast<byte, ulong>(span));
                    break;
                case TensorDataType.Fp32:
                    CopyTo(contents.Fp32Contents, MemoryMarshal.Cast<byte, float>(span));
                    break;
                case TensorDataType.Fp64:
                    CopyTo(contents.Fp64Contents, MemoryMarshal.Cast<byte, double>(span));
                    break;
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void CopyTo<T>(RepeatedField<T> source, Span<T> destination)
    {
        for (var i = 0; i < source.Count; i++)
        {
            destination[i] = source[i];
        }
    }

    private static int Narrow(int value, int min, int max, int index, TensorDataType dataType, string name) =>
        value >= min && value <= max
            ? value
            : throw InferenceException.Invalid($"input '{name}': element {index} is {value}, outside the {dataType.ToOipName()} range {min}..{max}");

    private static uint Narrow(uint value, uint max, int index, TensorDataType dataType, string name) =>
        value <= max
            ? value
            : throw InferenceException.Invalid($"input '{name}': element {index} is {value}, outside the {dataType.ToOipName()} range 0..{max}");
}
