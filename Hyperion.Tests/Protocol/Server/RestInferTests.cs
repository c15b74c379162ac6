using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Tests.Protocol.Server;

[Collection(StandaloneServerCollection.Name)]
public sealed class RestInferTests(StandaloneServer server)
{
    private static readonly int[] Ones = Enumerable.Repeat(1, 16).ToArray();
    private static readonly int[] Counting = Enumerable.Range(0, 16).ToArray();

    private HttpClient Http => server.Http;

    [Fact]
    public async Task Json_inference_runs_the_model_and_echoes_the_request_id()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/simple/infer", SimpleRequest("""  "id":"my-request-42", """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var root = body.RootElement;
        Assert.Equal("my-request-42", root.GetProperty("id").GetString());
        Assert.Equal("simple", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        var sum = body.Output("OUTPUT0");
        Assert.Equal("INT32", sum.GetProperty("datatype").GetString());
        Assert.Equal("[1,16]", sum.GetProperty("shape").GetRawText());
        Assert.Equal(Counting.Select(i => i + 1), sum.GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Counting.Select(i => i - 1), body.Output("OUTPUT1").GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task The_versioned_route_serves_that_version()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/simple/versions/1/infer", SimpleRequest(""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", body.RootElement.GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task Only_the_requested_outputs_come_back()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/simple/infer", SimpleRequest("""  "outputs":[{"name":"OUTPUT1"}], """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = Assert.Single(body.RootElement.GetProperty("outputs").EnumerateArray());
        Assert.Equal("OUTPUT1", output.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Binary_inputs_and_a_binary_output_use_the_binary_tensor_extension()
    {
        var header = """
            {"id":"bin","inputs":[
              {"name":"INPUT0","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}},
              {"name":"INPUT1","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}}],
             "outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},{"name":"OUTPUT1"}]}
            """;

        var answer = await ProtocolClient.PostBinaryAsync(Http, "/v2/models/simple/infer", header, Bytes(Counting), Bytes(Ones));

        Assert.Equal(HttpStatusCode.OK, answer.Response.StatusCode);
        Assert.Equal("application/octet-stream", answer.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("bin", answer.Json.RootElement.GetProperty("id").GetString());
        var binary = answer.Json.Output("OUTPUT0");
        Assert.Equal(64, binary.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(binary.TryGetProperty("data", out _));
        Assert.Equal(Counting.Select(i => i + 1), MemoryMarshal.Cast<byte, int>(answer.OutputBytes("OUTPUT0")).ToArray());
        Assert.Equal(Counting.Select(i => i - 1), answer.Json.Output("OUTPUT1").GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task Binary_data_output_returns_every_output_in_binary()
    {
        var response = await Http.PostAsync("/v2/models/simple/infer",
            new StringContent(SimpleRequest("""  "parameters":{"binary_data_output":true}, """), Encoding.UTF8, "application/json"));
        var answer = await ProtocolClient.BinaryAnswer.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(128, answer.Binary.Length);
        Assert.Equal(Counting.Select(i => i - 1), MemoryMarshal.Cast<byte, int>(answer.OutputBytes("OUTPUT1")).ToArray());
    }

    public static TheoryData<string, TensorDataType> JsonTypes => new()
    {
        { "identity_bool", TensorDataType.Bool },
        { "identity_uint8", TensorDataType.UInt8 },
        { "identity_uint64", TensorDataType.UInt64 },
        { "identity_int8", TensorDataType.Int8 },
        { "identity_int16", TensorDataType.Int16 },
        { "identity_int64", TensorDataType.Int64 },
        { "identity_fp16", TensorDataType.Fp16 },
        { "identity_fp32", TensorDataType.Fp32 },
        { "identity_fp64", TensorDataType.Fp64 },
    };

    [Theory]
    [MemberData(nameof(JsonTypes))]
    public async Task Json_outputs_equal_in_process_onnx_runtime(string model, TensorDataType dataType)
    {
        var raw = RandomElements(dataType, 12, seed: model.Length);
        var expected = InProcessOnnx.Run(model, dataType, raw, [3, 4]);

        var request = $$$"""{"inputs":[{"name":"INPUT0","datatype":"{{{dataType.ToOipName()}}}","shape":[3,4],"data":{{{JsonValues(dataType, raw)}}}}]}""";
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, $"/v2/models/{model}/infer", request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body.RootElement.GetRawText());
        Assert.Equal(expected, FromJson(dataType, body.Output("OUTPUT0").GetProperty("data")));
    }

    [Theory]
    [InlineData("identity_fp16", TensorDataType.Fp16)]
    [InlineData("identity_uint8", TensorDataType.UInt8)]
    [InlineData("identity_int64", TensorDataType.Int64)]
    [InlineData("identity_fp32", TensorDataType.Fp32)]
    public async Task Binary_outputs_equal_in_process_onnx_runtime(string model, TensorDataType dataType)
    {
        var raw = RandomElements(dataType, 8, seed: 7 * model.Length);
        var expected = InProcessOnnx.Run(model, dataType, raw, [2, 4]);
        var header = $$$"""
            {"inputs":[{"name":"INPUT0","datatype":"{{{dataType.ToOipName()}}}","shape":[2,4],"parameters":{"binary_data_size":{{{raw.Length}}}}}],
             "parameters":{"binary_data_output":true}}
            """;

        var answer = await ProtocolClient.PostBinaryAsync(Http, $"/v2/models/{model}/infer", header, raw);

        Assert.Equal(HttpStatusCode.OK, answer.Response.StatusCode);
        Assert.Equal(expected, answer.OutputBytes("OUTPUT0"));
    }

    [Fact]
    public async Task Bytes_outputs_equal_in_process_onnx_runtime()
    {
        string[] values = ["", "a", "héllo", "quote \" and \\ slash", "🙂", "tab\t", "x", "last"];
        var expected = InProcessOnnx.RunStrings("identity_bytes", values, [2, 4]);
        var request = $$$"""{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[2,4],"data":{{{JsonSerializer.Serialize(values)}}}}]}""";

        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/identity_bytes/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, body.Output("OUTPUT0").GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Kserve_v1_predictions_equal_the_v2_outputs()
    {
        var rows = Enumerable.Range(0, 2).Select(r => Enumerable.Range(0, 64).Select(i => (float)((r * 64 + i) % 17) / 4).ToArray()).ToArray();
        var v2 = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[2,64],"data":{{{JsonSerializer.Serialize(rows)}}}}]}""";
        var v1 = $$$"""{"instances":{{{JsonSerializer.Serialize(rows)}}}}""";

        var (v2Response, v2Body) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/mlp_small/infer", v2);
        var (v1Response, v1Body) = await ProtocolClient.PostJsonAsync(Http, "/v1/models/mlp_small:predict", v1);

        Assert.Equal(HttpStatusCode.OK, v2Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, v1Response.StatusCode);
        var logits = v2Body.Output("logits").GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var predictions = v1Body.RootElement.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, predictions.Length);
        Assert.Equal(logits, predictions.SelectMany(p => p.EnumerateArray().Select(e => e.GetSingle())));
    }

    [Fact]
    public async Task Kserve_v1_predictions_of_a_model_with_several_outputs_are_objects_keyed_by_output()
    {
        var pixels = Enumerable.Range(0, 64).Select(i => (float)(i % 17)).ToArray();

        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v1/models/digits:predict", $"{{\"instances\":[{JsonSerializer.Serialize(pixels)}]}}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = Assert.Single(body.RootElement.GetProperty("predictions").EnumerateArray());
        Assert.Equal(10, prediction.GetProperty("probabilities").GetArrayLength());
        Assert.InRange(prediction.GetProperty("label").GetInt64(), 0, 9);
    }

    [Fact]
    public async Task Kserve_v1_refuses_models_with_several_inputs()
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, "/v1/models/simple:predict", """{"instances":[[1]]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("single-input", body.Error());
    }

    [Theory]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,4],"data":[1,2,3,4]}]}""", "INPUT0", "FP32")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,5],"data":[1,2,3,4,5]}]}""", "INPUT0", "[-1,4]")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3]}]}""", "INPUT0", "needs 4")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"WRONG","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}""", "WRONG", "INPUT0")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[9,4],"data":[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}]}""", "INPUT0", "max_batch_size")]
    [InlineData("identity_int8", """{"inputs":[{"name":"INPUT0","datatype":"INT8","shape":[1,4],"data":[1,2,3,400]}]}""", "INPUT0", "-128 to 127")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]],}""", "not valid JSON", "")]
    [InlineData("identity_fp32", """{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}],"outputs":[{"name":"NOPE"}]}""", "NOPE", "OUTPUT0")]
    public async Task Invalid_requests_answer_400_naming_the_input_and_what_was_expected(string model, string request, string named, string expected)
    {
        var (response, body) = await ProtocolClient.PostJsonAsync(Http, $"/v2/models/{model}/infer", request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, body.Error());
        Assert.Contains(expected, body.Error());
    }

    [Fact]
    public async Task Unknown_models_and_versions_answer_404()
    {
        var (model, modelBody) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/no_such_model/infer", SimpleRequest(""));
        var (version, versionBody) = await ProtocolClient.PostJsonAsync(Http, "/v2/models/simple/versions/42/infer", SimpleRequest(""));

        Assert.Equal(HttpStatusCode.NotFound, model.StatusCode);
        Assert.Contains("no_such_model", modelBody.Error());
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);
        Assert.Contains("42", versionBody.Error());
    }

    [Fact]
    public async Task A_body_over_the_limit_answers_413()
    {
        var data = string.Join(',', Enumerable.Repeat("1.0", StandaloneServer.MaxRequestBodyBytes / 4 + 16));
        var request = $$"""{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[{{data}}]}]}""";

        // With 100-continue the server refuses before the client sends the body; without it the server may close the
        // connection while the client is still sending, and the client sees a reset instead of the 413.
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity_fp32/infer")
        {
            Content = new StringContent(request, Encoding.UTF8, "application/json"),
        };
        message.Headers.ExpectContinue = true;
        var response = await Http.SendAsync(message);
        using var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MaxRequestBodyBytes", body.Error());
    }

    [Fact]
    public async Task A_bad_inference_header_length_answers_400()
    {
        using var content = new StringContent(SimpleRequest(""), Encoding.UTF8, "application/json");
        content.Headers.Add("Inference-Header-Content-Length", "999999");

        var response = await Http.PostAsync("/v2/models/simple/infer", content);
        using var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Inference-Header-Content-Length", body.Error());
    }

    private static string SimpleRequest(string extra) => $$$"""
        { {{{extra}}} "inputs":[
          {"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":{{{JsonSerializer.Serialize(Counting)}}}},
          {"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":[{{{JsonSerializer.Serialize(Ones)}}}]}]}
        """;

    private static byte[] Bytes(int[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Random elements that JSON can carry exactly (finite floats, bools as 0/1).</summary>
    internal static byte[] RandomElements(TensorDataType dataType, int count, int seed)
    {
        var random = new Random(seed);
        var raw = new byte[count * dataType.ElementSize()];
        switch (dataType)
        {
            case TensorDataType.Bool:
                for (var i = 0; i < count; i++)
                {
                    raw[i] = (byte)random.Next(2);
                }
                break;
            case TensorDataType.Fp16:
                for (var i = 0; i < count; i++)
                {
                    MemoryMarshal.Cast<byte, Half>(raw.AsSpan())[i] = (Half)(random.NextDouble() * 200 - 100);
                }
                break;
            case TensorDataType.Fp32:
                for (var i = 0; i < count; i++)
                {
                    MemoryMarshal.Cast<byte, float>(raw.AsSpan())[i] = (float)(random.NextDouble() * 2e6 - 1e6);
                }
                break;
            case TensorDataType.Fp64:
                for (var i = 0; i < count; i++)
                {
                    MemoryMarshal.Cast<byte, double>(raw.AsSpan())[i] = random.NextDouble() * 2e12 - 1e12;
                }
                break;
            default:
                random.NextBytes(raw);
                break;
        }
        return raw;
    }

    internal static string JsonValues(TensorDataType dataType, byte[] raw)
    {
        var values = new List<string>();
        var culture = CultureInfo.InvariantCulture;
        for (var i = 0; i < raw.Length / dataType.ElementSize(); i++)
        {
            values.Add(dataType switch
            {
                TensorDataType.Bool => raw[i] != 0 ? "true" : "false",
                TensorDataType.UInt8 => raw[i].ToString(culture),
                TensorDataType.Int8 => ((sbyte)raw[i]).ToString(culture),
                TensorDataType.Int16 => MemoryMarshal.Cast<byte, short>(raw.AsSpan())[i].ToString(culture),
                TensorDataType.Int64 => MemoryMarshal.Cast<byte, long>(raw.AsSpan())[i].ToString(culture),
                TensorDataType.UInt64 => MemoryMarshal.Cast<byte, ulong>(raw.AsSpan())[i].ToString(culture),
                TensorDataType.Fp16 => ((float)MemoryMarshal.Cast<byte, Half>(raw.AsSpan())[i]).ToString("R", culture),
                TensorDataType.Fp32 => MemoryMarshal.Cast<byte, float>(raw.AsSpan())[i].ToString("R", culture),
                TensorDataType.Fp64 => MemoryMarshal.Cast<byte, double>(raw.AsSpan())[i].ToString("R", culture),
                _ => throw new ArgumentOutOfRangeException(nameof(dataType)),
            });
        }
        return "[" + string.Join(',', values) + "]";
    }

    internal static byte[] FromJson(TensorDataType dataType, JsonElement data)
    {
        var elements = data.EnumerateArray().ToArray();
        var raw = new byte[elements.Length * dataType.ElementSize()];
        for (var i = 0; i < elements.Length; i++)
        {
            var e = elements[i];
            switch (dataType)
            {
                case TensorDataType.Bool: raw[i] = e.GetBoolean() ? (byte)1 : (byte)0; break;
                case TensorDataType.UInt8: raw[i] = e.GetByte(); break;
                case TensorDataType.Int8: raw[i] = (byte)e.GetSByte(); break;
                case TensorDataType.Int16: MemoryMarshal.Cast<byte, short>(raw.AsSpan())[i] = e.GetInt16(); break;
                case TensorDataType.Int64: MemoryMarshal.Cast<byte, long>(raw.AsSpan())[i] = e.GetInt64(); break;
                case TensorDataType.UInt64: MemoryMarshal.Cast<byte, ulong>(raw.AsSpan())[i] = e.GetUInt64(); break;
                case TensorDataType.Fp16: MemoryMarshal.Cast<byte, Half>(raw.AsSpan())[i] = (Half)e.GetDouble(); break;
                case TensorDataType.Fp32: MemoryMarshal.Cast<byte, float>(raw.AsSpan())[i] = e.GetSingle(); break;
                case TensorDataType.Fp64: MemoryMarshal.Cast<byte, double>(raw.AsSpan())[i] = e.GetDouble(); break;
                default: throw new ArgumentOutOfRangeException(nameof(dataType));
            }
        }
        return raw;
    }
}
