using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Tests.Protocol;

public sealed class KServeV1CodecTests
{
    [Fact]
    public void Each_instance_is_one_row_of_the_single_input()
    {
        using var request = Read("""{"instances":[[1,2,3,4],[5,6,7,8]]}""", TensorDataType.Fp32);

        var input = Assert.Single(request.Inputs);
        Assert.Equal("INPUT0", input.Name);
        Assert.Equal([2L, 4L], input.Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], MemoryMarshal.Cast<byte, float>(input.Span).ToArray());
    }

    [Fact]
    public void Nested_instances_keep_their_inner_dimensions()
    {
        using var request = Read("""{"instances":[[[1,2],[3,4],[5,6]]]}""", TensorDataType.Int64);

        Assert.Equal([1L, 3L, 2L], request.Inputs[0].Shape);
    }

    [Fact]
    public void Scalar_instances_make_a_vector()
    {
        using var request = Read("""{"signature_name":"x","instances":["a","bc"]}""", TensorDataType.Bytes);

        Assert.Equal([2L], request.Inputs[0].Shape);
        Assert.Equal(2, TensorData.CountByteElements(request.Inputs[0].Span));
    }

    [Theory]
    [InlineData("""{"instances":[[1,2],[3]]}""", "data has 3 elements but shape [2,2] needs 4")]
    [InlineData("""{"inputs":[[1,2]]}""", "the request has no 'instances'")]
    [InlineData("""{"instances":{"a":1}}""", "'instances' must be an array")]
    [InlineData("""{"instances":[[1,2]""", "not valid JSON")]
    public void Bad_instances_are_refused(string body, string message)
    {
        var error = Assert.Throws<InferenceException>(() => Read(body, TensorDataType.Fp32).Dispose());

        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void One_output_gives_one_prediction_per_row()
    {
        using var response = new InferenceResponse { ModelName = "m", ModelVersion = "1" };
        response.Outputs.Add(Tensor("y", TensorDataType.Fp32, [2, 2], [1f, 2f, 3f, 4f]));

        Assert.Equal("""{"predictions":[[1,2],[3,4]]}""", Write(response));
    }

    [Fact]
    public void Several_outputs_give_one_object_per_row()
    {
        using var response = new InferenceResponse { ModelName = "m", ModelVersion = "1" };
        response.Outputs.Add(Tensor("p", TensorDataType.Fp32, [2, 2], [0.25f, 0.75f, 1f, 0f]));
        response.Outputs.Add(Tensor("label", TensorDataType.Int64, [2], [1L, 0L]));

        Assert.Equal("""{"predictions":[{"p":[0.25,0.75],"label":1},{"p":[1,0],"label":0}]}""", Write(response));
    }

    private static InferenceRequest Read(string json, TensorDataType type) =>
        KServeV1Codec.ReadPredictRequest(Encoding.UTF8.GetBytes(json), "m", null, "INPUT0", type);

    private static string Write(InferenceResponse response)
    {
        using var buffer = new PooledBufferWriter();
        KServeV1Codec.WritePredictResponse(buffer, response);
        using var _ = JsonDocument.Parse(buffer.WrittenMemory);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static TensorData Tensor<T>(string name, TensorDataType type, long[] shape, T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        return TensorData.Wrap(name, type, shape, bytes, bytes.Length);
    }
}
