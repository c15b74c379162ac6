using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Tests.Engine;

internal static class Tensors
{
    public static TensorData Create<T>(string name, TensorDataType dataType, long[] shape, T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        var tensor = TensorData.Rent(name, dataType, shape, bytes.Length);
        bytes.CopyTo(tensor.Span);
        return tensor;
    }

    public static TensorData Fp32(string name, long[] shape, float[] values) => Create(name, TensorDataType.Fp32, shape, values);

    /// <summary>Values in [-1, 1) from <paramref name="random"/>.</summary>
    public static float[] RandomFloats(Random random, int count)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }

    /// <summary>mlp_small's logits for <paramref name="rows"/> rows of 64 inputs, straight from ONNX Runtime.</summary>
    public static float[] MlpSmallInProcess(InferenceSession session, float[] input, int rows)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [rows, 64]);
        using var results = session.Run(new RunOptions(), ["input"], [value], ["logits"]);
        return results.First().GetTensorDataAsSpan<float>().ToArray();
    }

    public static TensorData Int32(string name, long[] shape, int[] values) => Create(name, TensorDataType.Int32, shape, values);

    public static TensorData Bytes(string name, long[] shape, string[] values)
    {
        var length = 0;
        foreach (var value in values)
        {
            length += 4 + Encoding.UTF8.GetByteCount(value);
        }
        var tensor = TensorData.Rent(name, TensorDataType.Bytes, shape, length);
        var span = tensor.Span;
        foreach (var value in values)
        {
            var written = Encoding.UTF8.GetBytes(value, span[4..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)written);
            span = span[(4 + written)..];
        }
        return tensor;
    }

    public static float[] ToFloats(TensorData tensor) => MemoryMarshal.Cast<byte, float>(tensor.Span).ToArray();

    public static int[] ToInts(TensorData tensor) => MemoryMarshal.Cast<byte, int>(tensor.Span).ToArray();

    public static InferenceRequest Request(string model, params TensorData[] inputs) => Request(model, null, inputs);

    public static InferenceRequest Request(string model, string? version, params TensorData[] inputs)
    {
        var request = new InferenceRequest { ModelName = model, ModelVersion = version };
        request.Inputs.AddRange(inputs);
        return request;
    }

    public static TensorData Output(this InferenceResponse response, string name) =>
        response.Outputs.Find(output => output.Name == name) ?? throw new InvalidOperationException($"no output '{name}'");
}
