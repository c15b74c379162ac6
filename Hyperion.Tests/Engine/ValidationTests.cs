using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Tests.Engine;

/// <summary>Each malformed request fails alone, with a message that names the input and what was expected.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    private readonly TestRepository _repository = new TestRepository()
        .Add("mlp_small").Add("simple").Add("identity_bytes").Add("fixed_no_batch");
    private EngineHost _engine = null!;

    public async Task InitializeAsync() => _engine = await EngineHost.StartAsync(_repository.Path);

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task Wrong_datatype()
    {
        var error = await Fails("simple", null,
            Tensors.Int32("INPUT0", [1, 16], new int[16]),
            Tensors.Fp32("INPUT1", [1, 16], new float[16]));
        Assert.Equal("input 'INPUT1': expected datatype INT32, got FP32", error.Message);
    }

    [Fact]
    public async Task Wrong_shape_and_rank()
    {
        var error = await Fails("mlp_small", null, Tensors.Fp32("input", [1, 63], new float[63]));
        Assert.Equal("input 'input': expected shape [-1,64], got [1,63]", error.Message);

        error = await Fails("mlp_small", null, Tensors.Fp32("input", [64], new float[64]));
        Assert.Equal("input 'input': expected shape [-1,64], got [64]", error.Message);

        error = await Fails("fixed_no_batch", null, Tensors.Fp32("input", [1, 4], new float[4]));
        Assert.Equal("input 'input': expected shape [4], got [1,4]", error.Message);
    }

    [Fact]
    public async Task Byte_length_that_does_not_match_the_shape()
    {
        var error = await Fails("mlp_small", null, Tensors.Fp32("input", [2, 64], new float[127]));
        Assert.Contains("input 'input': shape [2,64] needs 128 FP32 elements (512 bytes), got 508 bytes", error.Message);

        error = await Fails("identity_bytes", null, Tensors.Bytes("INPUT0", [1, 4], ["a", "b", "c"]));
        Assert.Equal("input 'INPUT0': shape [1,4] holds 4 elements, got 3 BYTES elements", error.Message);

        var truncated = TensorData.Wrap("INPUT0", TensorDataType.Bytes, [1, 4], [9, 0, 0, 0, 1], 5);
        error = await Fails("identity_bytes", null, truncated);
        Assert.Contains("input 'INPUT0': malformed BYTES data", error.Message);
    }

    [Fact]
    public async Task Batch_larger_than_max_batch_size()
    {
        var error = await Fails("mlp_small", null, Tensors.Fp32("input", [5, 64], new float[5 * 64]));
        Assert.Equal("input 'input': batch size 5 exceeds the model's max_batch_size 4", error.Message);
    }

    [Fact]
    public async Task Inputs_with_different_batch_sizes()
    {
        var error = await Fails("simple", null,
            Tensors.Int32("INPUT0", [2, 16], new int[32]),
            Tensors.Int32("INPUT1", [1, 16], new int[16]));
        Assert.Equal("input 'INPUT1' has batch size 1, but input 'INPUT0' has 2; every input needs the same batch size", error.Message);
    }

    [Fact]
    public async Task Unknown_missing_and_repeated_inputs()
    {
        var error = await Fails("simple", null,
            Tensors.Int32("INPUT0", [1, 16], new int[16]),
            Tensors.Int32("INPUT9", [1, 16], new int[16]));
        Assert.Equal("unknown input 'INPUT9' for model 'simple'; the model's inputs are INPUT0, INPUT1", error.Message);

        error = await Fails("simple", null, Tensors.Int32("INPUT0", [1, 16], new int[16]));
        Assert.Equal("missing input 'INPUT1' for model 'simple' (expected INT32 [-1,16])", error.Message);

        error = await Fails("simple", null,
            Tensors.Int32("INPUT0", [1, 16], new int[16]),
            Tensors.Int32("INPUT0", [1, 16], new int[16]));
        Assert.Equal("input 'INPUT0' is given more than once", error.Message);
    }

    [Fact]
    public async Task Unknown_requested_output()
    {
        using var request = new InferenceRequest { ModelName = "mlp_small", Outputs = [new("probabilities")] };
        request.Inputs.Add(Tensors.Fp32("input", [1, 64], new float[64]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => _engine.Dispatcher.InferAsync(request, default).AsTask());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("unknown output 'probabilities' requested from model 'mlp_small'; the model's outputs are logits", error.Message);
    }

    [Fact]
    public async Task Unknown_model_and_version_are_not_found()
    {
        using var unknownModel = Tensors.Request("nope", Tensors.Fp32("input", [1, 64], new float[64]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => _engine.Dispatcher.InferAsync(unknownModel, default).AsTask());
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
        Assert.Equal("unknown model 'nope'", error.Message);

        using var unknownVersion = Tensors.Request("mlp_small", "7", Tensors.Fp32("input", [1, 64], new float[64]));
        error = await Assert.ThrowsAsync<InferenceException>(() => _engine.Dispatcher.InferAsync(unknownVersion, default).AsTask());
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
        Assert.Equal("unknown version '7' of model 'mlp_small'; versions: 1", error.Message);
    }

    [Fact]
    public async Task Rejections_are_counted_and_the_model_keeps_serving()
    {
        using var capture = new MetricsCapture(_engine.Metrics);
        await Fails("mlp_small", null, Tensors.Fp32("input", [1, 3], new float[3]));
        using var good = Tensors.Request("mlp_small", Tensors.Fp32("input", [1, 64], new float[64]));
        using var response = await _engine.Dispatcher.InferAsync(good, default);

        Assert.Equal([1L, 10L], response.Output("logits").Shape);
        Assert.Equal(1, capture.Count("mlp_small", "invalid_argument"));
        Assert.Equal(1, capture.Count("mlp_small", "success"));
    }

    private async Task<InferenceException> Fails(string model, string? version, params TensorData[] inputs)
    {
        using var request = Tensors.Request(model, version, inputs);
        var error = await Assert.ThrowsAsync<InferenceException>(() => _engine.Dispatcher.InferAsync(request, default).AsTask());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        return error;
    }
}
