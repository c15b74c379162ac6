using System.Text.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Models;
using Hyperion.Inference.Serving;
using Hyperion.Orchestrator.Registry.Validation;

namespace Hyperion.Tests.Engine;

/// <summary>
/// <c>instance_group.kind: "gpu"</c> on this build, which has no CUDA execution provider (the tests run the CPU build):
/// the load fails saying what is missing, unless the group sets <c>allow_cpu_fallback</c>, and then the version
/// serves on CPU and says so in the repository index and the instances gauge.
/// </summary>
public sealed class GpuPlacementTests
{
    private const string CpuBuildReason =
        "it needs the GPU build of the server (dotnet build -p:HyperionGpu=true, with the CUDA runtime installed); this server was built for CPU only";

    [Fact]
    public async Task A_gpu_group_without_cuda_fails_saying_what_is_missing_and_which_setting_runs_it_on_cpu()
    {
        using var repository = new TestRepository()
            .Add("mlp_small", "on_gpu").WriteConfig("on_gpu", """{ "instance_group": [{ "count": 1, "kind": "cpu" }, { "count": 1, "kind": "gpu", "gpus": [1] }] }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var entry = Assert.Single(engine.Catalog.Index());
        Assert.Equal(ModelVersionState.Failed, entry.State);
        Assert.Equal(
            "instance_group kind 'gpu' (GPU 1) needs the GPU build of the server (dotnet build -p:HyperionGpu=true, with the CUDA runtime installed); " +
            "this server was built for CPU only; set \"allow_cpu_fallback\": true on instance_group 1 to run its instances on CPU instead",
            entry.Reason);
    }

    [Fact]
    public async Task With_allow_cpu_fallback_a_gpu_group_serves_on_cpu_and_says_so_in_the_index_and_the_instances_gauge()
    {
        using var repository = new TestRepository()
            .Add("mlp_small", "fallback").WriteConfig("fallback", """
                { "max_batch_size": 8,
                  "instance_group": [{ "count": 2, "kind": "gpu", "allow_cpu_fallback": true }] }
                """)
            .Add("mlp_small", "on_cpu").WriteConfig("on_cpu", """{ "max_batch_size": 8 }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var capture = new MetricsCapture(engine.Metrics);

        var fallback = Assert.Single(engine.Catalog.Index(), entry => entry.Name == "fallback");
        Assert.Equal(ModelVersionState.Ready, fallback.State);
        Assert.Equal("instance_group 0 asked for GPU 0 and runs on CPU: " + CpuBuildReason, fallback.Reason);
        Assert.Null(Assert.Single(engine.Catalog.Index(), entry => entry.Name == "on_cpu").Reason);

        var input = Tensors.RandomFloats(new Random(17), 3 * 64);
        Assert.Equal(await LogitsAsync(engine, "on_cpu", input), await LogitsAsync(engine, "fallback", input));

        capture.Observe();
        Assert.Equal([("gpu", "cpu", 2.0)], Instances(capture, "fallback"));
        Assert.Equal([("cpu", "cpu", 1.0)], Instances(capture, "on_cpu"));
    }

    [Fact]
    public async Task A_torchscript_gpu_group_falls_back_to_cpu_only_when_allowed_and_then_answers_as_on_cpu()
    {
        const string Model = """
            { "platform": "pytorch_libtorch", "max_batch_size": 8,
              "input": [{ "name": "INPUT__0", "datatype": "FP32", "dims": [4] }],
              "output": [{ "name": "OUTPUT__0", "datatype": "FP32", "dims": [4] }],
              "instance_group": [{ "count": 1, "kind": "gpu", "gpus": [0, 1] %FALLBACK% }] }
            """;
        using var repository = new TestRepository()
            .AddTorchScript("ts_fp32", "refused").WriteConfig("refused", Model.Replace("%FALLBACK%", ""))
            .AddTorchScript("ts_fp32", "fallback").WriteConfig("fallback", Model.Replace("%FALLBACK%", ", \"allow_cpu_fallback\": true"));
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var capture = new MetricsCapture(engine.Metrics);

        var refused = Assert.Single(engine.Catalog.Index(), entry => entry.Name == "refused");
        Assert.Equal(ModelVersionState.Failed, refused.State);
        Assert.EndsWith("set \"allow_cpu_fallback\": true on instance_group 0 to run its instances on CPU", refused.Reason);
        var fallback = Assert.Single(engine.Catalog.Index(), entry => entry.Name == "fallback");
        Assert.Equal(ModelVersionState.Ready, fallback.State);
        Assert.Equal("instance_group 0 asked for GPU 0, 1 and runs on CPU: no CUDA build of TorchSharp is available to this server", fallback.Reason);

        using var request = Tensors.Request("fallback", Tensors.Fp32("INPUT__0", [1, 4], [0, 0, 0, 0]));
        using var response = await engine.Dispatcher.InferAsync(request, default);
        Assert.Equal([0f, 0f, 0f, 0f], Tensors.ToFloats(response.Output("OUTPUT__0")));
        capture.Observe();
        Assert.Equal([("gpu", "cpu", 2.0)], Instances(capture, "fallback"));
    }

    [Fact]
    public async Task Every_gpu_that_falls_back_gets_its_sentence_and_a_reload_of_the_same_files_keeps_them()
    {
        using var repository = new TestRepository()
            .Add("mlp_small", "mixed").WriteConfig("mixed", """
                { "instance_group": [
                    { "count": 1, "kind": "cpu" },
                    { "count": 2, "kind": "gpu", "gpus": [0, 1], "allow_cpu_fallback": true } ] }
                """);
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var capture = new MetricsCapture(engine.Metrics);
        var expected = $"instance_group 1 asked for GPU 0 and runs on CPU: {CpuBuildReason}; instance_group 1 asked for GPU 1 and runs on CPU: {CpuBuildReason}";

        Assert.Equal(expected, Assert.Single(engine.Catalog.Index()).Reason);
        await engine.Catalog.LoadAsync("mixed", default);
        Assert.Equal((ModelVersionState.Ready, expected), Project(Assert.Single(engine.Catalog.Index())));

        // One series per kind and device: the cpu group's instance, and the four the gpu group opened on CPU.
        capture.Observe();
        Assert.Equal([("cpu", "cpu", 1.0), ("gpu", "cpu", 4.0)], Instances(capture, "mixed"));
    }

    [Fact]
    public async Task A_model_that_cannot_load_at_all_fails_with_its_own_reason_not_a_fallback()
    {
        var garbage = new byte[4096];
        new Random(5).NextBytes(garbage);
        using var repository = new TestRepository()
            .WriteModelFile("corrupt", 1, garbage)
            .WriteConfig("corrupt", """{ "instance_group": [{ "kind": "gpu", "allow_cpu_fallback": true }] }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var entry = Assert.Single(engine.Catalog.Index());
        Assert.Equal(ModelVersionState.Failed, entry.State);
        Assert.StartsWith("ONNX Runtime could not load model.onnx", entry.Reason);
    }

    [Fact]
    public void The_setting_is_written_only_when_on_and_the_registry_accepts_it()
    {
        var off = JsonSerializer.Serialize(new InstanceGroupConfig { Kind = "gpu" });
        Assert.DoesNotContain("allow_cpu_fallback", off);

        var (config, _) = ModelConfigCheck.Parse("""{ "instance_group": [{ "count": 1, "kind": "gpu", "allow_cpu_fallback": true }] }""");
        Assert.True(Assert.Single(config.InstanceGroup).AllowCpuFallback);
        Assert.Contains("\"allow_cpu_fallback\":true", ModelConfigCheck.Serialize(config));
    }

    private static async Task<float[]> LogitsAsync(EngineHost engine, string model, float[] input)
    {
        using var request = Tensors.Request(model, Tensors.Fp32("input", [3, 64], input));
        using var response = await engine.Dispatcher.InferAsync(request, default);
        return Tensors.ToFloats(response.Output("logits"));
    }

    private static List<(string? Kind, string? Device, double Count)> Instances(MetricsCapture capture, string model) =>
        [.. capture.Measurements
            .Where(m => m.Instrument == "hyperion_inference_model_instances" && m.Tags["model"] == model)
            .Select(m => (m.Tags["kind"], m.Tags["device"], m.Value))
            .Order()];

    private static (ModelVersionState, string?) Project(ModelIndexEntry entry) => (entry.State, entry.Reason);
}
