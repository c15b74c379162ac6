using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Tests.Protocol;

public sealed class OipJsonCodecTests
{
    public static TheoryData<string, string, string> EveryDatatype => new()
    {
        // datatype, JSON data (shape [2,2]), the values as the encoder writes them back
        { "BOOL", "[true,false,false,true]", "[true,false,false,true]" },
        { "UINT8", "[0,1,254,255]", "[0,1,254,255]" },
        { "UINT16", "[0,1,65534,65535]", "[0,1,65534,65535]" },
        { "UINT32", "[0,1,4294967294,4294967295]", "[0,1,4294967294,4294967295]" },
        { "UINT64", "[0,1,18446744073709551614,18446744073709551615]", "[0,1,18446744073709551614,18446744073709551615]" },
        { "INT8", "[-128,-1,0,127]", "[-128,-1,0,127]" },
        { "INT16", "[-32768,-1,0,32767]", "[-32768,-1,0,32767]" },
        { "INT32", "[-2147483648,-1,0,2147483647]", "[-2147483648,-1,0,2147483647]" },
        { "INT64", "[-9223372036854775808,-1,0,9223372036854775807]", "[-9223372036854775808,-1,0,9223372036854775807]" },
        { "FP16", "[0.5,-2,65504,0.099975586]", "[0.5,-2,65504,0.099975586]" },
        { "FP32", "[0.1,-2.5,3.4028235E+38,1E-45]", "[0.1,-2.5,3.4028235E+38,1E-45]" },
        { "FP64", "[0.1,-2.5,1.7976931348623157E+308,5E-324]", "[0.1,-2.5,1.7976931348623157E+308,5E-324]" },
        { "BYTES", "[\"a\",\"\",\"h\\u00e9llo\",\"x\\\"y\"]", "[\"a\",\"\",\"héllo\",\"x\\\"y\"]" },
    };

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public void Every_datatype_survives_a_JSON_round_trip(string datatype, string data, string encoded)
    {
        using var request = Decode($$"""{"inputs":[{"name":"INPUT0","datatype":"{{datatype}}","shape":[2,2],"data":{{data}}}]}""");

        var input = Assert.Single(request.Inputs);
        Assert.True(TensorDataTypes.TryParse(datatype, out var type));
        Assert.Equal(type, input.DataType);
        Assert.Equal([2L, 2L], input.Shape);

        var json = EncodeEcho(request);
        using var document = JsonDocument.Parse(json);
        var output = document.RootElement.GetProperty("outputs")[0];
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal(encoded, output.GetProperty("data").GetRawText());
    }

    [Fact]
    public void Numbers_are_stored_as_little_endian_elements_of_the_datatype()
    {
        using var request = Decode("""{"inputs":[{"name":"x","datatype":"INT16","shape":[3],"data":[1,-2,300]}]}""");

        Assert.Equal(new byte[] { 1, 0, 0xFE, 0xFF, 0x2C, 0x01 }, request.Inputs[0].Span.ToArray());
    }

    [Fact]
    public void Fp16_is_read_from_JSON_numbers()
    {
        using var request = Decode("""{"inputs":[{"name":"x","datatype":"FP16","shape":[2],"data":[1.5,-0.25]}]}""");

        var span = request.Inputs[0].Span;
        Assert.Equal((Half)1.5, BinaryPrimitives.ReadHalfLittleEndian(span));
        Assert.Equal((Half)(-0.25), BinaryPrimitives.ReadHalfLittleEndian(span[2..]));
    }

    [Fact]
    public void Bytes_strings_become_length_prefixed_elements()
    {
        using var request = Decode("""{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":["ab","\u00e9"]}]}""");

        Assert.Equal(new byte[] { 2, 0, 0, 0, (byte)'a', (byte)'b', 2, 0, 0, 0, 0xC3, 0xA9 }, request.Inputs[0].Span.ToArray());
    }

    [Fact]
    public void Nested_and_flat_data_decode_to_the_same_bytes()
    {
        using var flat = Decode("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[1,2,3,4,5,6]}]}""");
        using var nested = Decode("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[[1,2,3],[4,5,6]]}]}""");

        Assert.Equal(flat.Inputs[0].Span.ToArray(), nested.Inputs[0].Span.ToArray());
    }

    [Fact]
    public void Data_may_come_before_the_datatype_and_shape()
    {
        using var request = Decode("""{"inputs":[{"data":[[1,2],[3,4]],"name":"x","shape":[2,2],"datatype":"INT32"}]}""");

        Assert.Equal([1, 2, 3, 4], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(request.Inputs[0].Span).ToArray());
    }

    [Fact]
    public void Non_finite_floats_are_written_as_strings_and_read_back()
    {
        using var request = Decode("""{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":["NaN","Infinity","-Infinity"]}]}""");

        var json = EncodeEcho(request);
        using var document = JsonDocument.Parse(json);
        Assert.Equal("""["NaN","Infinity","-Infinity"]""", document.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public void Id_timeout_and_requested_outputs_are_read()
    {
        using var request = Decode("""
            {"id":"req-7","parameters":{"timeout":2500,"binary_data_output":true,"custom":"x"},
             "inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1]}],
             "outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":false}}]}
            """);

        Assert.Equal("req-7", request.Id);
        Assert.Equal(TimeSpan.FromMicroseconds(2500), request.Timeout);
        Assert.True(request.BinaryDataOutput);
        Assert.Equal([new RequestedOutput("a", true), new RequestedOutput("b", false)], request.Outputs);
        Assert.True(OipJsonResponseWriter.IsBinaryOutput(request, "a"));
        Assert.False(OipJsonResponseWriter.IsBinaryOutput(request, "b"));
        Assert.True(OipJsonResponseWriter.IsBinaryOutput(request, "unlisted"));
    }

    [Fact]
    public void Binary_inputs_are_taken_from_the_bytes_after_the_JSON_header_in_order()
    {
        var json = Encoding.UTF8.GetBytes("""
            {"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},
                       {"name":"j","datatype":"INT32","shape":[1],"data":[9]},
                       {"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]}
            """);
        byte[] binary = [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, (byte)'x', (byte)'y', (byte)'z'];

        using var request = OipJsonRequestReader.Read(json, binary, "m", null);

        Assert.Equal(binary[..8], request.Inputs[0].Span.ToArray());
        Assert.Equal(9, BinaryPrimitives.ReadInt32LittleEndian(request.Inputs[1].Span));
        Assert.Equal(binary[8..], request.Inputs[2].Span.ToArray());
    }

    [Fact]
    public void Binary_outputs_carry_their_size_instead_of_data()
    {
        using var request = Decode("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1]}],"outputs":[{"name":"OUT","parameters":{"binary_data":true}}]}""");
        using var response = new InferenceResponse { ModelName = "m", ModelVersion = "3", Id = "abc" };
        response.Outputs.Add(Tensor("OUT", TensorDataType.Fp32, [1, 2], [0, 0, 128, 63, 0, 0, 0, 64]));
        response.Outputs.Add(Tensor("OTHER", TensorDataType.Int32, [1], [5, 0, 0, 0]));

        using var buffer = new PooledBufferWriter();
        var anyBinary = OipJsonResponseWriter.Write(buffer, response, request);

        Assert.True(anyBinary);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var root = document.RootElement;
        Assert.Equal("m", root.GetProperty("model_name").GetString());
        Assert.Equal("3", root.GetProperty("model_version").GetString());
        Assert.Equal("abc", root.GetProperty("id").GetString());
        var binaryOutput = root.GetProperty("outputs")[0];
        Assert.Equal(8, binaryOutput.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(binaryOutput.TryGetProperty("data", out _));
        Assert.Equal("[5]", root.GetProperty("outputs")[1].GetProperty("data").GetRawText());
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3]}]}""", "input 'x': data has 3 elements but shape [2,2] needs 4")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2,3]}]}""", "input 'x': data has 3 elements but shape [2] needs 2")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FLOAT","shape":[1],"data":[1]}]}""", "input 'x': datatype \"FLOAT\" is not supported; expected one of BOOL, UINT8")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4],"data":[1]}]}""", "input 'x': shape dimension 0 is -1; every dimension must be 0 or more")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT8","shape":[1],"data":[300]}]}""", "input 'x': element 0 is 300, expected an integer from -128 to 127 (INT8)")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"data":[1,1.5]}]}""", "input 'x': element 1 is 1.5, expected an integer in the INT32 range")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"BOOL","shape":[1],"data":[1]}]}""", "input 'x': element 0 is 1, expected true or false (BOOL)")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["1"]}]}""", "input 'x': element 0 is the string \"1\", expected a finite number")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":[1]}]}""", "input 'x': element 0 is 1, expected a JSON string (BYTES)")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1000000000000],"data":[1]}]}""", "input 'x': data has 1 elements but shape [1000000000000] needs 1000000000000")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1,16],"data":[[1,2]]}]}""", "input 'x': data has 2 elements but shape [1,16] needs 16")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}""", "input 'x' has no 'shape'")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"data":[1]}]}""", "input 'x' has no 'datatype'")]
    [InlineData("""{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}""", "input 0 has no 'name'")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}""", "input 'x' has no 'data'")]
    [InlineData("""{"inputs":[]}""", "the request has no inputs")]
    [InlineData("""{"id":"a"}""", "the request has no inputs")]
    [InlineData("""[1,2]""", "the request body must be a JSON object")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "input 'x' appears more than once")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]} {}""", "unexpected content after the JSON object")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1}]}""", "the request body is not valid JSON")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[{"a":1}]}]}""", "input 'x': element 0 is an object")]
    [InlineData("""{"parameters":{"timeout":"soon"},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""", "the timeout parameter must be a non-negative integer")]
    [InlineData("""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}""", "input 'x': binary_data_size is 4 but only 0 bytes of binary data remain")]
    public void Bad_requests_are_refused_with_a_message_that_says_what_was_expected(string body, string message)
    {
        var error = Assert.Throws<InferenceException>(() => Decode(body).Dispose());

        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Binary_data_that_does_not_match_the_shape_is_refused()
    {
        var json = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":4}}]}""");

        var error = Assert.Throws<InferenceException>(() => OipJsonRequestReader.Read(json, new byte[4], "m", null).Dispose());

        Assert.Contains("input 'a': raw data is 4 bytes but shape [2] of FP32 needs 8", error.Message);
    }

    [Fact]
    public void Bytes_left_over_after_the_binary_inputs_are_refused()
    {
        var json = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}""");

        var error = Assert.Throws<InferenceException>(() => OipJsonRequestReader.Read(json, new byte[6], "m", null).Dispose());

        Assert.Contains("carries 6 bytes of binary tensor data after the JSON header but the inputs' binary_data_size add up to 4", error.Message);
    }

    [Fact]
    public void Malformed_binary_bytes_elements_are_refused()
    {
        var json = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":5}}]}""");

        var error = Assert.Throws<InferenceException>(() => OipJsonRequestReader.Read(json, [9, 0, 0, 0, 1], "m", null).Dispose());

        Assert.Contains("input 's': BYTES data is malformed", error.Message);
    }

    [Fact]
    public void Every_truncation_of_a_valid_body_is_refused_as_invalid()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"id":"t","parameters":{"timeout":10},"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1.5,2],[3,4e2]]},
             {"name":"s","datatype":"BYTES","shape":[1],"data":["abc"]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}
            """);

        for (var length = 0; length < body.Length - 1; length++)
        {
            var error = Assert.Throws<InferenceException>(() => OipJsonRequestReader.Read(body.AsSpan(0, length), [], "m", null).Dispose());
            Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        }
    }

    private static InferenceRequest Decode(string json) => OipJsonRequestReader.Read(Encoding.UTF8.GetBytes(json), [], "m", "1");

    /// <summary>Encodes a response whose outputs are the request's inputs, as an identity model would answer.</summary>
    private static byte[] EncodeEcho(InferenceRequest request)
    {
        using var response = new InferenceResponse { ModelName = "m", ModelVersion = "1" };
        foreach (var input in request.Inputs)
        {
            response.Outputs.Add(Tensor(input.Name, input.DataType, input.Shape, input.Span.ToArray()));
        }
        using var buffer = new PooledBufferWriter();
        OipJsonResponseWriter.Write(buffer, response, request);
        return buffer.WrittenSpan.ToArray();
    }

    private static TensorData Tensor(string name, TensorDataType type, long[] shape, byte[] bytes) =>
        TensorData.Wrap(name, type, shape, bytes, bytes.Length);
}
