using Hyperion.Contracts.Inference;
using Hyperion.Inference.Serving;

namespace Hyperion.Tests.Engine;

/// <summary>A TorchScript model that cannot serve as configured fails alone, with a reason that says what to change.</summary>
public sealed class TorchScriptLoadFailureTests
{
    private const string Fp32Config = """
        { "platform": "pytorch_libtorch", "max_batch_size": 8,
          "input": [{ "name": "INPUT__0", "datatype": "FP32", "dims": [4] }],
          "output": [{ "name": "OUTPUT__0", "datatype": "%OUT%", "dims": [4] }]%EXTRA% }
        """;

    [Theory]
    [InlineData("FP64", "", "output 'OUTPUT__0' has datatype FP64 in the config, but forward() returns FP32")]
    [InlineData("UINT16", "", "output 'OUTPUT__0' has datatype UINT16, which TorchScript models cannot take or return; supported: BOOL, UINT8")]
    [InlineData("FP32", """, "instance_group": [{ "count": 1, "kind": "gpu" }]""",
        "instance_group 0 has kind \"gpu\", but TorchScript models run on CPU only: no CUDA build of TorchSharp")]
    [InlineData("FP32", """, "optimization": { "graph_optimization_level": "all" }""",
        "optimization.graph_optimization_level is an ONNX Runtime setting")]
    [InlineData("FP32", """, "optimization": { "inter_op_threads": 2 }""", "optimization.inter_op_threads is an ONNX Runtime setting")]
    public async Task A_config_the_model_does_not_match_fails_that_model_with_the_reason(string outputType, string extra, string reason)
    {
        using var repository = new TestRepository()
            .AddTorchScript("ts_fp32", "broken")
            .WriteConfig("broken", Fp32Config.Replace("%OUT%", outputType).Replace("%EXTRA%", extra))
            .AddTorchScript("ts_int32");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        AssertFailed(engine, "broken", reason);
        Assert.True(engine.Catalog.IsReady("ts_int32", null));
    }

    [Fact]
    public async Task More_inputs_than_forward_takes_are_named_as_such()
    {
        using var repository = new TestRepository().AddTorchScript("ts_fp32").WriteConfig("ts_fp32", """
            { "platform": "pytorch_libtorch", "max_batch_size": 8,
              "input": [{ "name": "INPUT__0", "datatype": "FP32", "dims": [4] }, { "name": "INPUT__1", "datatype": "FP32", "dims": [4] }],
              "output": [{ "name": "OUTPUT__0", "datatype": "FP32", "dims": [4] }] }
            """);
        await using var engine = await EngineHost.StartAsync(repository.Path);

        AssertFailed(engine, "ts_fp32", "forward() takes 1 tensor, but the config lists 2 inputs");
    }

    [Fact]
    public async Task Positional_names_must_number_every_tensor_once()
    {
        using var repository = new TestRepository().AddTorchScript("ts_two_outputs").WriteConfig("ts_two_outputs", """
            { "platform": "pytorch_libtorch", "max_batch_size": 4,
              "input": [{ "name": "INPUT__0", "datatype": "FP32", "dims": [4] }, { "name": "INPUT__2", "datatype": "INT64", "dims": [-1] }],
              "output": [{ "name": "OUTPUT__1", "datatype": "INT64", "dims": [1] }, { "name": "OUTPUT__0", "datatype": "FP32", "dims": [3] }] }
            """);
        await using var engine = await EngineHost.StartAsync(repository.Path);

        AssertFailed(engine, "ts_two_outputs", "input 'INPUT__2': positional names (<name>__<index>) must number the 2 inputs 0 to 1, each once");
    }

    [Fact]
    public async Task A_model_pt_without_a_config_fails_saying_that_torchscript_needs_one()
    {
        using var repository = new TestRepository().AddTorchScript("ts_fp32", "unconfigured").DeleteConfig("unconfigured").Add("simple");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        AssertFailed(engine, "unconfigured", "a TorchScript model carries no signature, so its config must list every input and output");
        Assert.True(engine.Catalog.IsReady("simple", null));
    }

    [Fact]
    public async Task A_corrupt_model_pt_is_reported_and_never_takes_others_down()
    {
        var garbage = new byte[4096];
        new Random(5).NextBytes(garbage);
        using var repository = new TestRepository()
            .WriteModelFile("corrupt", 1, garbage, "model.pt")
            .WriteConfig("corrupt", Fp32Config.Replace("%OUT%", "FP32").Replace("%EXTRA%", ""))
            .AddTorchScript("ts_fp32");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var reason = AssertFailed(engine, "corrupt", "LibTorch could not load model.pt as TorchScript: ");
        Assert.DoesNotContain('\n', reason);
        using var request = Tensors.Request("corrupt", Tensors.Fp32("INPUT__0", [1, 4], new float[4]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => engine.Dispatcher.InferAsync(request, default).AsTask());
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);

        using var healthy = Tensors.Request("ts_fp32", Tensors.Fp32("INPUT__0", [1, 4], [0, 0, 0, 0]));
        using var response = await engine.Dispatcher.InferAsync(healthy, default);
        Assert.Equal([0f, 0f, 0f, 0f], Tensors.ToFloats(response.Output("OUTPUT__0")));
    }

    [Fact]
    public async Task Two_instances_answer_concurrent_requests_each_with_its_own_rows()
    {
        using var repository = new TestRepository().AddTorchScript("ts_fp32").WriteConfig("ts_fp32", Fp32Config
            .Replace("%OUT%", "FP32")
            .Replace("%EXTRA%", """, "instance_group": [{ "count": 2, "kind": "cpu" }], "optimization": { "intra_op_threads": 1 }, "dynamic_batching": { "max_queue_delay_microseconds": 500 }"""));
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            float[] row = [i, -i, i / 8f, 0];
            using var request = Tensors.Request("ts_fp32", Tensors.Fp32("INPUT__0", [1, 4], row));
            using var response = await engine.Dispatcher.InferAsync(request, default);
            return (Row: row, Output: Tensors.ToFloats(response.Output("OUTPUT__0")));
        }));

        foreach (var (row, output) in answers)
        {
            // The model computes tanh(x) + x.
            Assert.Equal(row.Select(x => MathF.Tanh(x) + x), output, (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1, Math.Abs(a)));
        }
    }

    private static string AssertFailed(EngineHost engine, string model, string reason)
    {
        Assert.True(engine.Catalog.IsServerReady);
        var failed = Assert.Single(engine.Catalog.Index(), entry => entry.Name == model);
        Assert.Equal(ModelVersionState.Failed, failed.State);
        Assert.Contains(reason, failed.Reason);
        return failed.Reason!;
    }
}
