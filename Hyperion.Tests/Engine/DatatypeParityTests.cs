using System.Runtime.InteropServices;
using Hyperion.Contracts.Tensors;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.Engine;

/// <summary>What the engine serves must be exactly what ONNX Runtime computes in-process from the same input.</summary>
public sealed class DatatypeParityTests : IAsyncLifetime
{
    private readonly TestRepository _repository = new();
    private EngineHost _engine = null!;

    public static TheoryData<string, TensorDataType> NumericModels => new()
    {
        { "identity_bool", TensorDataType.Bool },
        { "identity_uint8", TensorDataType.UInt8 },
        { "identity_uint16", TensorDataType.UInt16 },
        { "identity_uint32", TensorDataType.UInt32 },
        { "identity_uint64", TensorDataType.UInt64 },
        { "identity_int8", TensorDataType.Int8 },
        { "identity_int16", TensorDataType.Int16 },
        { "identity_int32", TensorDataType.Int32 },
        { "identity_int64", TensorDataType.Int64 },
        { "identity_fp16", TensorDataType.Fp16 },
        { "identity_fp32", TensorDataType.Fp32 },
        { "identity_fp64", TensorDataType.Fp64 },
    };

    public async Task InitializeAsync()
    {
        foreach (var model in Directory.EnumerateDirectories(TestRepository.TestModels))
        {
            _repository.Add(Path.GetFileName(model));
        }
        _engine = await EngineHost.StartAsync(_repository.Path);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        _repository.Dispose();
    }

    [Theory]
    [MemberData(nameof(NumericModels))]
    public async Task Numeric_outputs_equal_in_process_onnx_runtime(string model, TensorDataType dataType)
    {
        var raw = new byte[3 * 4 * dataType.ElementSize()];
        new Random(model.Length).NextBytes(raw);
        if (dataType == TensorDataType.Bool)
        {
            for (var i = 0; i < raw.Length; i++)
            {
                raw[i] &= 1;
            }
        }

        var expected = InProcessOnnx.Run(model, dataType, raw, [3, 4]);
        using var request = Tensors.Request(model, Tensors.Create("INPUT0", dataType, [3, 4], raw));
        using var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);

        var output = response.Output("OUTPUT0");
        Assert.Equal(dataType, output.DataType);
        Assert.Equal([3L, 4L], output.Shape);
        Assert.Equal(expected, output.Span.ToArray());
    }

    [Fact]
    public async Task Bytes_outputs_equal_in_process_onnx_runtime()
    {
        string[] values = ["", "a", "héllo", "tensor", "x y z", "ünïcödé", "1234567890", "last", "9", "ten", "eleven", "🙂"];
        var expected = InProcessOnnx.RunStrings("identity_bytes", values, [3, 4]);

        using var request = Tensors.Request("identity_bytes", Tensors.Bytes("INPUT0", [3, 4], values));
        using var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);

        var served = response.Output("OUTPUT0");
        Assert.Equal(TensorDataType.Bytes, served.DataType);
        using var expectedRaw = Tensors.Bytes("expected", [3, 4], expected);
        Assert.Equal(expectedRaw.Span.ToArray(), served.Span.ToArray());
    }

    [Theory]
    [InlineData("mlp_small", "input", 64, "logits")]
    [InlineData("digits", "pixels", 64, "probabilities")]
    [InlineData("row_sum", "input", 7, "sum")]
    public async Task Float_models_equal_in_process_onnx_runtime(string model, string input, int features, string outputName)
    {
        var values = new float[2 * features];
        var random = new Random(features);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 16);
        }
        var raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var expected = InProcessOnnx.Run(model, TensorDataType.Fp32, raw, [2, features], input, outputName);

        using var request = Tensors.Request(model, Tensors.Fp32(input, [2, features], values));
        using var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);

        // ORT's vectorised reductions may sum in a different order depending on the buffer's alignment
        // (served inputs sit in pooled arrays, ORT allocates its own 64-byte aligned): allow the last bit.
        var served = Tensors.ToFloats(response.Output(outputName));
        var reference = MemoryMarshal.Cast<byte, float>(expected).ToArray();
        Assert.Equal(reference.Length, served.Length);
        for (var i = 0; i < served.Length; i++)
        {
            Assert.True(Math.Abs(served[i] - reference[i]) <= 1e-6f * Math.Max(1f, Math.Abs(reference[i])),
                $"element {i}: served {served[i]:R}, in-process {reference[i]:R}");
        }
    }

    [Fact]
    public async Task Multiple_inputs_and_outputs_and_a_model_without_batch_dimension()
    {
        using (var request = Tensors.Request("simple",
            Tensors.Int32("INPUT1", [2, 16], Enumerable.Range(100, 32).ToArray()),
            Tensors.Int32("INPUT0", [2, 16], Enumerable.Range(0, 32).ToArray())))
        using (var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None))
        {
            Assert.Equal(["OUTPUT0", "OUTPUT1"], response.Outputs.Select(o => o.Name));
            Assert.Equal(Enumerable.Range(0, 32).Select(i => 100 + 2 * i), Tensors.ToInts(response.Output("OUTPUT0")));
            Assert.All(Tensors.ToInts(response.Output("OUTPUT1")), diff => Assert.Equal(-100, diff));
        }

        using (var request = Tensors.Request("fixed_no_batch", Tensors.Fp32("input", [4], [1, 2, 3, 4])))
        using (var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None))
        {
            Assert.Equal([4L], response.Output("output").Shape);
            Assert.Equal([2f, 4, 6, 8], Tensors.ToFloats(response.Output("output")));
        }
    }

    [Fact]
    public async Task Returns_only_the_requested_outputs_in_the_requested_order()
    {
        using var request = new Contracts.Inference.InferenceRequest
        {
            ModelName = "simple",
            Id = "req-7",
            Outputs = [new("OUTPUT1"), new("OUTPUT0", Binary: true)],
        };
        request.Inputs.Add(Tensors.Int32("INPUT0", [1, 16], Enumerable.Repeat(5, 16).ToArray()));
        request.Inputs.Add(Tensors.Int32("INPUT1", [1, 16], Enumerable.Repeat(2, 16).ToArray()));

        using var response = await _engine.Dispatcher.InferAsync(request, CancellationToken.None);

        Assert.Equal("req-7", response.Id);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal(["OUTPUT1", "OUTPUT0"], response.Outputs.Select(o => o.Name));
        Assert.All(Tensors.ToInts(response.Outputs[0]), value => Assert.Equal(3, value));

        using var single = new Contracts.Inference.InferenceRequest { ModelName = "simple", Outputs = [new("OUTPUT0")] };
        single.Inputs.Add(Tensors.Int32("INPUT0", [1, 16], new int[16]));
        single.Inputs.Add(Tensors.Int32("INPUT1", [1, 16], new int[16]));
        using var singleResponse = await _engine.Dispatcher.InferAsync(single, CancellationToken.None);
        Assert.Equal("OUTPUT0", Assert.Single(singleResponse.Outputs).Name);
    }
}
