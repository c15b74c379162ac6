using System.Runtime.InteropServices;
using Hyperion.Contracts.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>What ONNX Runtime computes in this process for a test model: the reference served outputs must equal.</summary>
internal static class InProcessOnnx
{
    /// <summary>Runs a single-output model on raw little-endian bytes and returns the output's raw bytes.</summary>
    public static byte[] Run(string model, TensorDataType dataType, byte[] raw, long[] shape, string input = "INPUT0", string output = "OUTPUT0")
    {
        using var session = new InferenceSession(ModelPath(model));
        using var value = dataType switch
        {
            TensorDataType.Bool => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(raw, b => b != 0), shape),
            TensorDataType.UInt8 => OrtValue.CreateTensorValueFromMemory(raw.ToArray(), shape),
            TensorDataType.UInt16 => OrtValue.CreateTensorValueFromMemory(Cast<ushort>(raw), shape),
            TensorDataType.UInt32 => OrtValue.CreateTensorValueFromMemory(Cast<uint>(raw), shape),
            TensorDataType.UInt64 => OrtValue.CreateTensorValueFromMemory(Cast<ulong>(raw), shape),
            TensorDataType.Int8 => OrtValue.CreateTensorValueFromMemory(Cast<sbyte>(raw), shape),
            TensorDataType.Int16 => OrtValue.CreateTensorValueFromMemory(Cast<short>(raw), shape),
            TensorDataType.Int32 => OrtValue.CreateTensorValueFromMemory(Cast<int>(raw), shape),
            TensorDataType.Int64 => OrtValue.CreateTensorValueFromMemory(Cast<long>(raw), shape),
            TensorDataType.Fp16 => OrtValue.CreateTensorValueFromMemory(Cast<Float16>(raw), shape),
            TensorDataType.Fp32 => OrtValue.CreateTensorValueFromMemory(Cast<float>(raw), shape),
            TensorDataType.Fp64 => OrtValue.CreateTensorValueFromMemory(Cast<double>(raw), shape),
            _ => throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "BYTES goes through RunStrings"),
        };
        using var results = session.Run(new RunOptions(), [input], [value], [output]);
        return results[0].GetTensorMutableRawData().ToArray();
    }

    public static string[] RunStrings(string model, string[] values, long[] shape)
    {
        using var session = new InferenceSession(ModelPath(model));
        using var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        for (var i = 0; i < values.Length; i++)
        {
            value.StringTensorSetElementAt(values[i].AsSpan(), i);
        }
        using var results = session.Run(new RunOptions(), ["INPUT0"], [value], ["OUTPUT0"]);
        return results[0].GetStringTensorAsArray();
    }

    private static string ModelPath(string model) => Path.Combine(StandaloneServer.TestModels, model, "1", "model.onnx");

    private static T[] Cast<T>(byte[] raw) where T : unmanaged => MemoryMarshal.Cast<byte, T>(raw).ToArray();
}
