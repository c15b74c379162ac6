using Hyperion.Contracts.Tensors;
using static TorchSharp.torch;

namespace Hyperion.TorchScript;

/// <summary>
/// OIP datatypes and LibTorch scalar types. LibTorch has no UINT16/32/64 tensors TorchSharp can make and no
/// string tensors, so those datatypes are not served by TorchScript models.
/// </summary>
public static class TorchScriptTypes
{
    public const string SupportedNames = "BOOL, UINT8, INT8, INT16, INT32, INT64, FP16, FP32, FP64";

    public static bool TryToScalarType(TensorDataType type, out ScalarType scalarType)
    {
        scalarType = type switch
        {
            TensorDataType.Bool => ScalarType.Bool,
            TensorDataType.UInt8 => ScalarType.Byte,
            TensorDataType.Int8 => ScalarType.Int8,
            TensorDataType.Int16 => ScalarType.Int16,
            TensorDataType.Int32 => ScalarType.Int32,
            TensorDataType.Int64 => ScalarType.Int64,
            TensorDataType.Fp16 => ScalarType.Float16,
            TensorDataType.Fp32 => ScalarType.Float32,
            TensorDataType.Fp64 => ScalarType.Float64,
            _ => (ScalarType)(-1),
        };
        return (sbyte)scalarType >= 0;
    }

    /// <summary>The OIP name of a LibTorch scalar type, or its LibTorch name when OIP has none (for messages).</summary>
    public static string NameOf(ScalarType type) => type switch
    {
        ScalarType.Bool => "BOOL",
        ScalarType.Byte => "UINT8",
        ScalarType.Int8 => "INT8",
        ScalarType.Int16 => "INT16",
        ScalarType.Int32 => "INT32",
        ScalarType.Int64 => "INT64",
        ScalarType.Float16 => "FP16",
        ScalarType.Float32 => "FP32",
        ScalarType.Float64 => "FP64",
        _ => $"{type} (no OIP datatype)",
    };
}
