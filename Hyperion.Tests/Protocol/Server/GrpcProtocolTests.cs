using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Protocol.Grpc.V2;

namespace Hyperion.Tests.Protocol.Server;

[Collection(StandaloneServerCollection.Name)]
public sealed class GrpcProtocolTests(StandaloneServer server)
{
    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => server.Grpc;

    [Fact]
    public async Task Server_health_and_metadata()
    {
        Assert.True((await Grpc.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await Grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var metadata = await Grpc.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("hyperion", metadata.Name);
        Assert.Contains("binary_tensor_data", metadata.Extensions);
    }

    [Fact]
    public async Task Model_readiness_and_metadata()
    {
        Assert.True((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "simple", Version = "1" })).Ready);
        Assert.False((await Grpc.ModelReadyAsync(new ModelReadyRequest { Name = StandaloneServer.BrokenModel })).Ready);

        var metadata = await Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "digits" });
        Assert.Equal("digits", metadata.Name);
        Assert.Equal("onnxruntime", metadata.Platform);
        Assert.Equal(["1"], metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("pixels", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 64L], input.Shape);
        Assert.Equal(["probabilities", "label"], metadata.Outputs.Select(o => o.Name));
    }

    [Fact]
    public async Task Unknown_models_are_not_found()
    {
        var ready = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "no_such_model" }).ResponseAsync);
        var metadata = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "no_such_model" }).ResponseAsync);
        var infer = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(SimpleRaw("no_such_model")).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ready.StatusCode);
        Assert.Equal(StatusCode.NotFound, metadata.StatusCode);
        Assert.Equal(StatusCode.NotFound, infer.StatusCode);
        Assert.Contains("no_such_model", infer.Status.Detail);
    }

    [Fact]
    public async Task Raw_input_contents_give_raw_output_contents_and_the_id_back()
    {
        var response = await Grpc.ModelInferAsync(SimpleRaw("simple"));

        Assert.Equal("grpc-1", response.Id);
        Assert.Equal("simple", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal(["OUTPUT0", "OUTPUT1"], response.Outputs.Select(o => o.Name));
        Assert.Equal(response.Outputs.Count, response.RawOutputContents.Count);
        Assert.Equal([1L, 16L], response.Outputs[0].Shape);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => 3 * i), Ints(response.RawOutputContents[0]));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => -i), Ints(response.RawOutputContents[1]));
    }

    [Fact]
    public async Task Typed_contents_and_a_requested_output_subset()
    {
        var request = new ModelInferRequest { ModelName = "simple" };
        foreach (var (name, offset) in (ReadOnlySpan<(string, int)>)[("INPUT0", 10), ("INPUT1", 1)])
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32", Shape = { 1, 16 }, Contents = new InferTensorContents() };
            input.Contents.IntContents.Add(Enumerable.Range(offset, 16));
            request.Inputs.Add(input);
        }
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT1" });

        var response = await Grpc.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Equal("OUTPUT1", output.Name);
        Assert.All(Ints(response.RawOutputContents[0]), diff => Assert.Equal(9, diff));
    }

    [Theory]
    [InlineData("identity_fp16", TensorDataType.Fp16)]
    [InlineData("identity_int8", TensorDataType.Int8)]
    [InlineData("identity_uint64", TensorDataType.UInt64)]
    [InlineData("identity_bool", TensorDataType.Bool)]
    public async Task Raw_outputs_equal_in_process_onnx_runtime(string model, TensorDataType dataType)
    {
        var raw = RestInferTests.RandomElements(dataType, 8, seed: 11 * model.Length);
        var expected = InProcessOnnx.Run(model, dataType, raw, [2, 4]);
        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = dataType.ToOipName(), Shape = { 2, 4 } });
        request.RawInputContents.Add(ByteString.CopyFrom(raw));

        var response = await Grpc.ModelInferAsync(request);

        Assert.Equal(dataType.ToOipName(), response.Outputs[0].Datatype);
        Assert.Equal(expected, response.RawOutputContents[0].ToByteArray());
    }

    [Fact]
    public async Task Typed_bytes_contents_equal_in_process_onnx_runtime()
    {
        string[] values = ["", "a", "héllo", "🙂"];
        var expected = InProcessOnnx.RunStrings("identity_bytes", values, [1, 4]);
        var request = new ModelInferRequest { ModelName = "identity_bytes" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "BYTES", Shape = { 1, 4 }, Contents = new InferTensorContents() };
        input.Contents.BytesContents.Add(values.Select(ByteString.CopyFromUtf8));
        request.Inputs.Add(input);

        var response = await Grpc.ModelInferAsync(request);

        Assert.Equal(expected, SplitBytes(response.RawOutputContents[0].ToByteArray()));
    }

    [Fact]
    public async Task Invalid_requests_are_invalid_argument_with_a_message_naming_the_input()
    {
        var wrongType = SimpleRaw("simple");
        wrongType.Inputs[0].Datatype = "FP32";
        var wrongSize = SimpleRaw("simple");
        wrongSize.RawInputContents[1] = ByteString.CopyFrom(new byte[10]);
        var outOfRange = new ModelInferRequest { ModelName = "identity_int8" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT8", Shape = { 1, 4 }, Contents = new InferTensorContents() };
        input.Contents.IntContents.Add([1, 2, 3, 1000]);
        outOfRange.Inputs.Add(input);

        var type = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(wrongType).ResponseAsync);
        var size = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(wrongSize).ResponseAsync);
        var range = await Assert.ThrowsAsync<RpcException>(() => Grpc.ModelInferAsync(outOfRange).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, type.StatusCode);
        Assert.Contains("INPUT0", type.Status.Detail);
        Assert.Contains("INT32", type.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, size.StatusCode);
        Assert.Contains("INPUT1", size.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, range.StatusCode);
        Assert.Contains("1000", range.Status.Detail);
    }

    private static ModelInferRequest SimpleRaw(string model)
    {
        var request = new ModelInferRequest { ModelName = model, Id = "grpc-1" };
        foreach (var name in (string[])["INPUT0", "INPUT1"])
        {
            request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32", Shape = { 1, 16 } });
        }
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Enumerable.Range(0, 16).Select(i => i).ToArray().AsSpan())));
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Enumerable.Range(0, 16).Select(i => 2 * i).ToArray().AsSpan())));
        return request;
    }

    private static int[] Ints(ByteString raw) => MemoryMarshal.Cast<byte, int>(raw.Span).ToArray();

    private static List<string> SplitBytes(byte[] raw)
    {
        var values = new List<string>();
        for (var offset = 0; offset < raw.Length;)
        {
            var length = BitConverter.ToInt32(raw, offset);
            values.Add(System.Text.Encoding.UTF8.GetString(raw, offset + 4, length));
            offset += 4 + length;
        }
        return values;
    }
}
