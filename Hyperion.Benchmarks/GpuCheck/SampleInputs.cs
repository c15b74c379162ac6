using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Hyperion.Benchmarks.GpuCheck;

/// <summary>Seeded inputs of every datatype the test models take, the same for the CPU and the GPU session.</summary>
public static class SampleInputs
{
    /// <summary>Rows along a variable first dimension; other variable dimensions get <see cref="VariableSize"/>.</summary>
    public const int Batch = 4;

    public const int VariableSize = 8;

    /// <summary>One tensor per input of <paramref name="session"/>; the caller disposes them.</summary>
    public static List<OrtValue> For(InferenceSession session, int seed)
    {
        var random = new Random(seed);
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in session.InputNames)
            {
                var metadata = session.InputMetadata[name];
                var shape = new long[metadata.Dimensions.Length];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = metadata.Dimensions[d] > 0 ? metadata.Dimensions[d] : d == 0 ? Batch : VariableSize;
                }
                values.Add(Create(metadata.ElementDataType, shape, random));
            }
            return values;
        }
        catch
        {
            values.ForEach(v => v.Dispose());
            throw;
        }
    }

    private static OrtValue Create(TensorElementType type, long[] shape, Random random)
    {
        var count = 1L;
        foreach (var dim in shape)
        {
            count *= dim;
        }
        if (type == TensorElementType.String)
        {
            var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            for (var i = 0; i < count; i++)
            {
                strings.StringTensorSetElementAt($"row {i}: {random.Next(1000)}".AsSpan(), i);
            }
            return strings;
        }
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);
        var bytes = value.GetTensorMutableRawData();
        switch (type)
        {
            case TensorElementType.Float: Fill(MemoryMarshal.Cast<byte, float>(bytes), () => (float)(random.NextDouble() * 2 - 1)); break;
            case TensorElementType.Double: Fill(MemoryMarshal.Cast<byte, double>(bytes), () => random.NextDouble() * 2 - 1); break;
            case TensorElementType.Float16: Fill(MemoryMarshal.Cast<byte, Half>(bytes), () => (Half)(random.NextDouble() * 2 - 1)); break;
            case TensorElementType.Bool: Fill(bytes, () => (byte)random.Next(2)); break;
            case TensorElementType.Int8: Fill(MemoryMarshal.Cast<byte, sbyte>(bytes), () => (sbyte)random.Next(-100, 100)); break;
            case TensorElementType.UInt8: Fill(bytes, () => (byte)random.Next(200)); break;
            case TensorElementType.Int16: Fill(MemoryMarshal.Cast<byte, short>(bytes), () => (short)random.Next(-1000, 1000)); break;
            case TensorElementType.UInt16: Fill(MemoryMarshal.Cast<byte, ushort>(bytes), () => (ushort)random.Next(2000)); break;
            case TensorElementType.Int32: Fill(MemoryMarshal.Cast<byte, int>(bytes), () => random.Next(-1000, 1000)); break;
            case TensorElementType.UInt32: Fill(MemoryMarshal.Cast<byte, uint>(bytes), () => (uint)random.Next(2000)); break;
            case TensorElementType.Int64: Fill(MemoryMarshal.Cast<byte, long>(bytes), () => random.Next(-1000, 1000)); break;
            case TensorElementType.UInt64: Fill(MemoryMarshal.Cast<byte, ulong>(bytes), () => (ulong)random.Next(2000)); break;
            default:
                value.Dispose();
                throw new NotSupportedException($"no sample inputs for {type}");
        }
        return value;
    }

    private static void Fill<T>(Span<T> span, Func<T> next)
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = next();
        }
    }
}
