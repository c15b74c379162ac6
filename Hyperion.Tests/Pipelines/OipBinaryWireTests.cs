using Hyperion.Contracts.Codecs;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Gateway.Pipelines;

namespace Hyperion.Tests.Pipelines;

/// <summary>What a pipeline step sends a replica (the binary extension) and how it reads the answer.</summary>
public sealed class OipBinaryWireTests
{
    [Fact]
    public void A_step_request_carries_each_input_as_raw_bytes_after_its_JSON_header_and_asks_for_binary_outputs()
    {
        using var first = Tensor("x", [1, 2], [1.5f, -2f]);
        using var second = Tensor("y", [1, 1], [7f]);

        var body = OipBinaryWire.EncodeRequest([("INPUT0", first), ("INPUT1", second)], out var headerLength);

        var header = JsonDocument.Parse(body.AsMemory(0, headerLength)).RootElement;
        Assert.Equal(["INPUT0", "INPUT1"], header.GetProperty("inputs").EnumerateArray().Select(input => input.GetProperty("name").GetString()));
        Assert.Equal(8, header.GetProperty("inputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.True(header.GetProperty("parameters").GetProperty("binary_data_output").GetBoolean());
        Assert.Equal([1.5f, -2f, 7f], MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength)).ToArray());
    }

    [Fact]
    public void An_answer_with_binary_and_JSON_outputs_is_read_into_tensors_in_order()
    {
        var json = Encoding.UTF8.GetBytes("""
            {"model_name":"m","model_version":"1","outputs":[
              {"name":"scores","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},
              {"name":"label","datatype":"INT64","shape":[1],"data":[3]}]}
            """);
        var body = json.Concat(MemoryMarshal.AsBytes<float>([0.25f, 0.75f]).ToArray()).ToArray();

        var outputs = OipBinaryWire.DecodeResponse(body, json.Length);

        Assert.Equal(["scores", "label"], outputs.Select(output => output.Name));
        Assert.Equal([0.25f, 0.75f], MemoryMarshal.Cast<byte, float>(outputs[0].Span).ToArray());
        Assert.Equal([1L, 2L], outputs[0].Shape);
        Assert.Equal([3L], MemoryMarshal.Cast<byte, long>(outputs[1].Span).ToArray());
        outputs.ForEach(output => output.Dispose());
    }

    [Fact]
    public void An_answer_that_promises_more_bytes_than_it_has_is_refused_naming_the_output()
    {
        var json = Encoding.UTF8.GetBytes("""{"outputs":[{"name":"scores","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}""");
        var error = Assert.Throws<InferenceException>(() => OipBinaryWire.DecodeResponse(json.Concat(new byte[4]).ToArray(), json.Length));
        Assert.Contains("output 'scores'", error.Message);
        Assert.Equal("the model said no", OipBinaryWire.ErrorOf("""{"error":"the model said no"}"""u8));
        Assert.Null(OipBinaryWire.ErrorOf("not json"u8));
    }

    private static TensorData Tensor(string name, long[] shape, float[] values)
    {
        var tensor = TensorData.Rent(name, TensorDataType.Fp32, shape, values.Length * sizeof(float));
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(tensor.Span);
        return tensor;
    }
}
