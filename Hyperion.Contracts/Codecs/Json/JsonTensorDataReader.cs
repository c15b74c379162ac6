using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Codecs.Json;

/// <summary>
/// Reads a JSON tensor <c>data</c> value (a flat or nested row-major array, or a bare scalar) straight into a
/// pooled raw buffer: numbers become little-endian elements, booleans single bytes, and strings Triton's
/// length-prefixed BYTES layout. No element is ever boxed or collected in a list.
/// </summary>
public static class JsonTensorDataReader
{
    /// <summary>
    /// Reads the value at the reader's current token into a new tensor of <paramref name="shape"/>.
    /// <paramref name="remainingBytes"/> bounds the allocation: a JSON value cannot hold more elements than it has bytes,
    /// so a huge shape with little data fails before anything is rented. <paramref name="subject"/> names the tensor in
    /// errors; null means "input '<paramref name="name"/>'" (formatted only when there is an error).
    /// </summary>
    public static TensorData Read(
        ref Utf8JsonReader reader, string name, TensorDataType dataType, long[] shape, long remainingBytes, string? subject = null)
    {
        var expected = CheckedElementCount(shape, name);
        if (expected > remainingBytes + 1)
        {
            // Too few bytes left to hold that many elements: refuse before renting, with the count the client sent.
            var sent = CountElements(reader);
            throw InferenceException.Invalid(sent >= 0
                ? $"{subject ?? InputSubject(name)}: data has {sent} elements but shape {FormatShape(shape)} needs {expected}"
                : $"{subject ?? InputSubject(name)}: shape {FormatShape(shape)} needs {expected} elements but the data has at most {remainingBytes + 1}");
        }

        if (dataType == TensorDataType.Bytes)
        {
            var writer = new PooledBufferWriter((int)Math.Min(expected * 8 + 16, 1 << 20));
            try
            {
                var count = ReadElements(ref reader, dataType, Span<byte>.Empty, writer, expected, name, subject);
                CheckCount(count, expected, shape, name, subject);
                return writer.DetachAsTensor(name, dataType, shape);
            }
            finally
            {
                writer.Dispose();
            }
        }

        var byteLength = expected * dataType.ElementSize();
        if (byteLength > Array.MaxLength)
        {
            throw InferenceException.Invalid($"{subject ?? InputSubject(name)}: shape {FormatShape(shape)} is {byteLength} bytes, more than one tensor may hold");
        }
        var tensor = TensorData.Rent(name, dataType, shape, (int)byteLength);
        try
        {
            var count = ReadElements(ref reader, dataType, tensor.Span, null, expected, name, subject);
            CheckCount(count, expected, shape, name, subject);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>The product of <paramref name="shape"/>, refusing negative dimensions and products that overflow; errors name input <paramref name="name"/>.</summary>
    public static long CheckedElementCount(ReadOnlySpan<long> shape, string name)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw InferenceException.Invalid($"{InputSubject(name)}: shape {FormatShape(shape)} has a negative dimension; every dimension must be 0 or more");
            }
            if (dim != 0 && count > long.MaxValue / dim)
            {
                throw InferenceException.Invalid($"{InputSubject(name)}: shape {FormatShape(shape)} has more elements than a tensor may hold");
            }
            count *= dim;
        }
        return count;
    }

    public static string FormatShape(ReadOnlySpan<long> shape)
    {
        var builder = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }
            builder.Append(shape[i]);
        }
        return builder.Append(']').ToString();
    }

    /// <summary>How errors name an input tensor.</summary>
    public static string InputSubject(string name) => $"input '{name}'";

    /// <summary>Counts the leaf values of the array at the reader's token (a copy: the caller's reader does not move); -1 when it cannot be read.</summary>
    public static long CountElements(Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return 1;
        }
        long count = 0;
        var depth = 0;
        try
        {
            do
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartArray:
                        depth++;
                        break;
                    case JsonTokenType.EndArray:
                        depth--;
                        break;
                    default:
                        count++;
                        break;
                }
            }
            while (depth > 0 && reader.Read());
        }
        catch (JsonException)
        {
            return -1;
        }
        return depth == 0 ? count : -1;
    }

    private static void CheckCount(long count, long expected, long[] shape, string name, string? subject)
    {
        if (count != expected)
        {
            throw InferenceException.Invalid($"{subject ?? InputSubject(name)}: data has {count} elements but shape {FormatShape(shape)} needs {expected}");
        }
    }

    /// <summary>Walks the value's tokens depth-first; elements past <paramref name="capacity"/> are counted but not stored.</summary>
    private static long ReadElements(
        ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> destination, PooledBufferWriter? bytes, long capacity, string name, string? subject)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            // A bare scalar is a one-element tensor (shape [] or [1]).
            if (capacity >= 1)
            {
                ReadElement(ref reader, dataType, destination, bytes, 0, name, subject);
            }
            return 1;
        }

        var startDepth = reader.CurrentDepth;
        long index = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    continue;
                case JsonTokenType.EndArray:
                    if (reader.CurrentDepth == startDepth)
                    {
                        return index;
                    }
                    continue;
                default:
                    if (index < capacity)
                    {
                        ReadElement(ref reader, dataType, destination, bytes, index, name, subject);
                    }
                    else if (reader.TokenType is JsonTokenType.StartObject)
                    {
                        throw ElementError(ref reader, dataType, index, subject ?? InputSubject(name));
                    }
                    index++;
                    continue;
            }
        }
        throw InferenceException.Invalid($"{subject ?? InputSubject(name)}: the data array is not closed");
    }

    private static void ReadElement(
        ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> destination, PooledBufferWriter? bytes, long index, string name, string? subject)
    {
        var ok = reader.TokenType switch
        {
            JsonTokenType.Number => TryWriteNumber(ref reader, dataType, destination, (int)index),
            JsonTokenType.True or JsonTokenType.False => TryWriteBool(ref reader, dataType, destination, (int)index),
            JsonTokenType.String => TryWriteString(ref reader, dataType, destination, bytes, (int)index),
            _ => false,
        };
        if (!ok)
        {
            throw ElementError(ref reader, dataType, index, subject ?? InputSubject(name));
        }
    }

    private static bool TryWriteNumber(ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> destination, int index)
    {
        switch (dataType)
        {
            case TensorDataType.Fp32:
                if (!reader.TryGetSingle(out var f) || !float.IsFinite(f))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, float>(destination)[index] = f;
                return true;
            case TensorDataType.Fp64:
                if (!reader.TryGetDouble(out var d) || !double.IsFinite(d))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, double>(destination)[index] = d;
                return true;
            case TensorDataType.Fp16:
                if (!reader.TryGetDouble(out var h) || !Half.IsFinite((Half)h))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, Half>(destination)[index] = (Half)h;
                return true;
            case TensorDataType.Int8:
                if (!reader.TryGetSByte(out var i8))
                {
                    return false;
                }
                destination[index] = (byte)i8;
                return true;
            case TensorDataType.UInt8:
                if (!reader.TryGetByte(out var u8))
                {
                    return false;
                }
                destination[index] = u8;
                return true;
            case TensorDataType.Int16:
                if (!reader.TryGetInt16(out var i16))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, short>(destination)[index] = i16;
                return true;
            case TensorDataType.UInt16:
                if (!reader.TryGetUInt16(out var u16))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, ushort>(destination)[index] = u16;
                return true;
            case TensorDataType.Int32:
                if (!reader.TryGetInt32(out var i32))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, int>(destination)[index] = i32;
                return true;
            case TensorDataType.UInt32:
                if (!reader.TryGetUInt32(out var u32))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, uint>(destination)[index] = u32;
                return true;
            case TensorDataType.Int64:
                if (!reader.TryGetInt64(out var i64))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, long>(destination)[index] = i64;
                return true;
            case TensorDataType.UInt64:
                if (!reader.TryGetUInt64(out var u64))
                {
                    return false;
                }
                MemoryMarshal.Cast<byte, ulong>(destination)[index] = u64;
                return true;
            default:
                return false;
        }
    }

    private static bool TryWriteBool(ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> destination, int index)
    {
        if (dataType != TensorDataType.Bool)
        {
            return false;
        }
        destination[index] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
        return true;
    }

    private static bool TryWriteString(ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> destination, PooledBufferWriter? bytes, int index)
    {
        if (dataType == TensorDataType.Bytes)
        {
            var maxLength = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            var span = bytes!.GetSpan(4 + maxLength);
            var length = reader.CopyString(span[4..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)length);
            bytes.Advance(4 + length);
            return true;
        }

        // JSON has no literal for non-finite numbers; accept the spellings our encoder writes.
        var special = NonFiniteValue(ref reader);
        if (special is not { } value)
        {
            return false;
        }
        switch (dataType)
        {
            case TensorDataType.Fp32:
                MemoryMarshal.Cast<byte, float>(destination)[index] = (float)value;
                return true;
            case TensorDataType.Fp64:
                MemoryMarshal.Cast<byte, double>(destination)[index] = value;
                return true;
            case TensorDataType.Fp16:
                MemoryMarshal.Cast<byte, Half>(destination)[index] = (Half)value;
                return true;
            default:
                return false;
        }
    }

    private static double? NonFiniteValue(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("NaN"u8))
        {
            return double.NaN;
        }
        if (reader.ValueTextEquals("Infinity"u8))
        {
            return double.PositiveInfinity;
        }
        if (reader.ValueTextEquals("-Infinity"u8))
        {
            return double.NegativeInfinity;
        }
        return null;
    }

    private static InferenceException ElementError(ref Utf8JsonReader reader, TensorDataType dataType, long index, string subject)
    {
        var text = reader.TokenType switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.Null => "null",
            _ => Quote(ref reader),
        };
        return InferenceException.Invalid($"{subject}: element {index} is {text}, expected {Expectation(dataType)}");
    }

    private static string Quote(ref Utf8JsonReader reader)
    {
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
        var text = Encoding.UTF8.GetString(raw, 0, Math.Min(raw.Length, 40));
        return reader.TokenType == JsonTokenType.String ? $"the string \"{text}\"" : text;
    }

    private static string Expectation(TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => "true or false (BOOL)",
        TensorDataType.Bytes => "a JSON string (BYTES)",
        TensorDataType.Fp16 or TensorDataType.Fp32 or TensorDataType.Fp64 =>
            $"a finite number in the {dataType.ToOipName()} range or one of \"NaN\", \"Infinity\", \"-Infinity\"",
        TensorDataType.Int8 => "an integer from -128 to 127 (INT8)",
        TensorDataType.UInt8 => "an integer from 0 to 255 (UINT8)",
        TensorDataType.Int16 => "an integer from -32768 to 32767 (INT16)",
        TensorDataType.UInt16 => "an integer from 0 to 65535 (UINT16)",
        TensorDataType.Int32 => "an integer in the INT32 range",
        TensorDataType.UInt32 => "an integer in the UINT32 range",
        TensorDataType.Int64 => "an integer in the INT64 range",
        TensorDataType.UInt64 => "an integer in the UINT64 range",
        _ => dataType.ToOipName(),
    };
}
