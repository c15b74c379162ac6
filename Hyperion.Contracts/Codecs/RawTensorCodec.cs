using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs;

/// <summary>
/// Tensors that arrive as raw bytes (Triton's binary extension, gRPC <c>raw_input_contents</c>): the bytes are checked
/// against the shape and datatype before they are copied into a pooled tensor.
/// </summary>
public static class RawTensorCodec
{
    /// <summary>Copies checked raw bytes into a pooled tensor; errors name the tensor "input '<paramref name="name"/>'".</summary>
    public static TensorData Copy(string name, TensorDataType dataType, long[] shape, ReadOnlySpan<byte> raw)
    {
        var elements = JsonTensorDataReader.CheckedElementCount(shape, name);
        if (dataType == TensorDataType.Bytes)
        {
            var count = TensorData.CountByteElements(raw);
            if (count < 0)
            {
                throw InferenceException.Invalid(
                    $"input '{name}': BYTES data is malformed; expected each element as a 4-byte little-endian length followed by that many bytes");
            }
            if (count != elements)
            {
                throw InferenceException.Invalid(
                    $"input '{name}': raw data holds {count} BYTES elements but shape {JsonTensorDataReader.FormatShape(shape)} needs {elements}");
            }
        }
        else if (elements > raw.Length || elements * dataType.ElementSize() != raw.Length)
        {
            throw InferenceException.Invalid(
                $"input '{name}': raw data is {raw.Length} bytes but shape {JsonTensorDataReader.FormatShape(shape)} of {dataType.ToOipName()} needs {(Int128)elements * dataType.ElementSize()}");
        }
        var tensor = TensorData.Rent(name, dataType, shape, raw.Length);
        raw.CopyTo(tensor.Span);
        return tensor;
    }
}
