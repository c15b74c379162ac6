namespace Hyperion.Contracts.Tensors;

/// <summary>The Open Inference Protocol tensor datatypes that the ONNX Runtime backend can serve.</summary>
public enum TensorDataType : byte
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
    /// <summary>Variable-length byte strings; see <see cref="TensorData"/> for their raw layout.</summary>
    Bytes,
}

public static class TensorDataTypes
{
    private static readonly string[] OipNames =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    private static readonly int[] ElementSizes = [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0];

    /// <summary>Every supported datatype name in OIP form, for error messages that say what was expected.</summary>
    public static string SupportedNames { get; } = string.Join(", ", OipNames);

    /// <summary>The OIP name, e.g. "FP32".</summary>
    public static string ToOipName(this TensorDataType type) => OipNames[(int)type];

    /// <summary>Bytes per element in the raw layout; 0 for <see cref="TensorDataType.Bytes"/>, whose elements vary.</summary>
    public static int ElementSize(this TensorDataType type) => ElementSizes[(int)type];

    public static bool TryParse(ReadOnlySpan<char> name, out TensorDataType type)
    {
        for (var i = 0; i < OipNames.Length; i++)
        {
            if (name.SequenceEqual(OipNames[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }
        type = default;
        return false;
    }

    public static bool TryParse(ReadOnlySpan<byte> utf8Name, out TensorDataType type)
    {
        for (var i = 0; i < OipNames.Length; i++)
        {
            if (System.Text.Ascii.Equals(utf8Name, OipNames[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }
        type = default;
        return false;
    }
}
