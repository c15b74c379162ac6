using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs.Json;

/// <summary>
/// Writes a tensor's raw little-endian bytes as JSON values, flat or nested by shape. Non-finite floats, which JSON
/// cannot spell as numbers, are written as the strings "NaN", "Infinity" and "-Infinity" (which the reader accepts back).
/// </summary>
public static class JsonTensorDataWriter
{
    /// <summary>Writes every element as one flat row-major array.</summary>
    public static void WriteFlat(Utf8JsonWriter writer, TensorDataType dataType, ReadOnlySpan<byte> raw)
    {
        writer.WriteStartArray();
        switch (dataType)
        {
            case TensorDataType.Fp32:
                foreach (var value in MemoryMarshal.Cast<byte, float>(raw))
                {
                    WriteFloat(writer, value);
                }
                break;
            case TensorDataType.Int64:
                foreach (var value in MemoryMarshal.Cast<byte, long>(raw))
                {
                    writer.WriteNumberValue(value);
                }
                break;
            case TensorDataType.Int32:
                foreach (var value in MemoryMarshal.Cast<byte, int>(raw))
                {
                    writer.WriteNumberValue(value);
                }
                break;
            default:
                var offset = 0;
                while (offset < raw.Length)
                {
                    WriteElement(writer, dataType, raw, ref offset);
                }
                break;
        }
        writer.WriteEndArray();
    }

    /// <summary>
    /// Writes the elements from <paramref name="offset"/> as arrays nested by <paramref name="dims"/> (one array per
    /// dimension; no dimensions writes a single scalar) and advances the offset past them.
    /// </summary>
    public static void WriteNested(Utf8JsonWriter writer, TensorDataType dataType, ReadOnlySpan<byte> raw, ReadOnlySpan<long> dims, ref int offset)
    {
        if (dims.IsEmpty)
        {
            WriteElement(writer, dataType, raw, ref offset);
            return;
        }
        writer.WriteStartArray();
        for (long i = 0; i < dims[0]; i++)
        {
            WriteNested(writer, dataType, raw, dims[1..], ref offset);
        }
        writer.WriteEndArray();
    }

    /// <summary>Writes the element at <paramref name="offset"/> and moves past it.</summary>
    public static void WriteElement(Utf8JsonWriter writer, TensorDataType dataType, ReadOnlySpan<byte> raw, ref int offset)
    {
        var at = raw[offset..];
        switch (dataType)
        {
            case TensorDataType.Bool:
                writer.WriteBooleanValue(at[0] != 0);
                offset += 1;
                break;
            case TensorDataType.UInt8:
                writer.WriteNumberValue(at[0]);
                offset += 1;
                break;
            case TensorDataType.Int8:
                writer.WriteNumberValue((sbyte)at[0]);
                offset += 1;
                break;
            case TensorDataType.UInt16:
                writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(at));
                offset += 2;
                break;
            case TensorDataType.Int16:
                writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(at));
                offset += 2;
                break;
            case TensorDataType.UInt32:
                writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(at));
                offset += 4;
                break;
            case TensorDataType.Int32:
                writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(at));
                offset += 4;
                break;
            case TensorDataType.UInt64:
                writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(at));
                offset += 8;
                break;
            case TensorDataType.Int64:
                writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(at));
                offset += 8;
                break;
            case TensorDataType.Fp16:
                WriteFloat(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(at));
                offset += 2;
                break;
            case TensorDataType.Fp32:
                WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(at));
                offset += 4;
                break;
            case TensorDataType.Fp64:
                var d = BinaryPrimitives.ReadDoubleLittleEndian(at);
                if (double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else
                {
                    WriteNonFinite(writer, d);
                }
                offset += 8;
                break;
            case TensorDataType.Bytes:
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(at);
                writer.WriteStringValue(at.Slice(4, length));
                offset += 4 + length;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "not an OIP datatype");
        }
    }

    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, value);
        }
    }

    private static void WriteNonFinite(Utf8JsonWriter writer, double value) =>
        writer.WriteStringValue(double.IsNaN(value) ? "NaN"u8 : value > 0 ? "Infinity"u8 : "-Infinity"u8);
}
