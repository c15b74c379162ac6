using Hyperion.Contracts.Tensors;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Hyperion.Inference.Backends.Onnx;

/// <summary>Maps ONNX element types to OIP datatypes (BFLOAT16, complex and float8 types have no OIP counterpart served here).</summary>
internal static class OnnxTypes
{
    public static TensorDataType? ToDataType(TensorElementType type) => type switch
    {
        TensorElementType.Bool => TensorDataType.Bool,
        TensorElementType.UInt8 => TensorDataType.UInt8,
        TensorElementType.UInt16 => TensorDataType.UInt16,
        TensorElementType.UInt32 => TensorDataType.UInt32,
        TensorElementType.UInt64 => TensorDataType.UInt64,
        TensorElementType.Int8 => TensorDataType.Int8,
        TensorElementType.Int16 => TensorDataType.Int16,
        TensorElementType.Int32 => TensorDataType.Int32,
        TensorElementType.Int64 => TensorDataType.Int64,
        TensorElementType.Float16 => TensorDataType.Fp16,
        TensorElementType.Float => TensorDataType.Fp32,
        TensorElementType.Double => TensorDataType.Fp64,
        TensorElementType.String => TensorDataType.Bytes,
        _ => null,
    };

    public static TensorElementType ToElementType(TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
