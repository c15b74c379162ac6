using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Hyperion.Benchmarks.GpuCheck;

/// <summary>
/// One output of one model, GPU against CPU: the largest absolute difference and that difference relative to the
/// output's largest CPU magnitude (element-wise relative differences explode near zero, where TF32 rounding
/// shows most and matters least). Non-float outputs must be equal.
/// </summary>
public sealed record OutputComparison(string Output, string Type, string Shape, double MaxAbsolute, double Relative, bool Exact, string? Problem)
{
    public bool Passes(double tolerance) => Problem is null && (Exact ? MaxAbsolute == 0 : Relative <= tolerance);

    public static OutputComparison Of(string name, OrtValue cpu, OrtValue gpu)
    {
        var cpuInfo = cpu.GetTensorTypeAndShape();
        var gpuInfo = gpu.GetTensorTypeAndShape();
        var type = cpuInfo.ElementDataType;
        var shape = "[" + string.Join(',', cpuInfo.Shape) + "]";
        if (type != gpuInfo.ElementDataType || !cpuInfo.Shape.SequenceEqual(gpuInfo.Shape))
        {
            return new(name, type.ToString(), shape, double.NaN, double.NaN, true,
                $"GPU gave {gpuInfo.ElementDataType} [{string.Join(',', gpuInfo.Shape)}]");
        }
        if (type == TensorElementType.String)
        {
            var differing = 0;
            for (var i = 0; i < cpuInfo.ElementCount; i++)
            {
                differing += cpu.GetStringElement(i) == gpu.GetStringElement(i) ? 0 : 1;
            }
            return new(name, type.ToString(), shape, differing, differing, true, null);
        }
        var (a, exact) = ToDoubles(type, cpu.GetTensorMutableRawData());
        var (b, _) = ToDoubles(type, gpu.GetTensorMutableRawData());
        double maxAbsolute = 0, largest = 0;
        for (var i = 0; i < a.Length; i++)
        {
            maxAbsolute = Math.Max(maxAbsolute, double.IsNaN(a[i]) && double.IsNaN(b[i]) ? 0 : Math.Abs(a[i] - b[i]));
            largest = Math.Max(largest, Math.Abs(a[i]));
        }
        return new(name, type.ToString(), shape, maxAbsolute, largest > 0 ? maxAbsolute / largest : maxAbsolute, exact, null);
    }

    private static (double[] Values, bool Exact) ToDoubles(TensorElementType type, Span<byte> bytes) => type switch
    {
        TensorElementType.Float => (Convert(MemoryMarshal.Cast<byte, float>(bytes), v => v), false),
        TensorElementType.Double => (Convert(MemoryMarshal.Cast<byte, double>(bytes), v => v), false),
        TensorElementType.Float16 => (Convert(MemoryMarshal.Cast<byte, Half>(bytes), v => (double)v), false),
        TensorElementType.Bool or TensorElementType.UInt8 => (Convert<byte>(bytes, v => v), true),
        TensorElementType.Int8 => (Convert(MemoryMarshal.Cast<byte, sbyte>(bytes), v => v), true),
        TensorElementType.Int16 => (Convert(MemoryMarshal.Cast<byte, short>(bytes), v => v), true),
        TensorElementType.UInt16 => (Convert(MemoryMarshal.Cast<byte, ushort>(bytes), v => v), true),
        TensorElementType.Int32 => (Convert(MemoryMarshal.Cast<byte, int>(bytes), v => v), true),
        TensorElementType.UInt32 => (Convert(MemoryMarshal.Cast<byte, uint>(bytes), v => v), true),
        TensorElementType.Int64 => (Convert(MemoryMarshal.Cast<byte, long>(bytes), v => v), true),
        TensorElementType.UInt64 => (Convert(MemoryMarshal.Cast<byte, ulong>(bytes), v => v), true),
        _ => throw new NotSupportedException($"cannot compare {type} outputs"),
    };

    private static double[] Convert<T>(Span<T> span, Func<T, double> toDouble)
    {
        var values = new double[span.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = toDouble(span[i]);
        }
        return values;
    }
}
