using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Models;
using Hyperion.Inference.Serving;

namespace Hyperion.Tests.Engine;

public sealed class RepositoryTests
{
    [Fact]
    public async Task Auto_completes_a_missing_config_from_the_onnx_file()
    {
        using var repository = new TestRepository().Add("mlp_small").Add("fixed_no_batch").Add("digits");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var mlp = engine.Catalog.Describe("mlp_small", null).Config;
        Assert.Equal(4, mlp.MaxBatchSize);
        Assert.Equal("input FP32 [64]", Describe(Only(mlp.Input)));
        Assert.Equal("logits FP32 [10]", Describe(Only(mlp.Output)));
        Assert.NotNull(mlp.DynamicBatching);
        Assert.Equal(1, Assert.Single(mlp.InstanceGroup).Count);

        var fixedModel = engine.Catalog.Describe("fixed_no_batch", "1").Config;
        Assert.Equal(0, fixedModel.MaxBatchSize);
        Assert.Equal([4L], Only(fixedModel.Input).Dims);
        Assert.Null(fixedModel.DynamicBatching);

        var digits = engine.Catalog.Describe("digits", null).Config;
        Assert.Equal(["probabilities", "label"], digits.Output.Select(o => o.Name));
        Assert.Equal("INT64", digits.Output[1].DataType);
        Assert.Empty(digits.Output[1].Dims);
    }

    [Fact]
    public async Task Completes_a_partial_config_and_keeps_what_it_states()
    {
        using var repository = new TestRepository()
            .Add("mlp_small").WriteConfig("mlp_small", """
                { "max_batch_size": 16, "dynamic_batching": { "preferred_batch_size": [8] },
                  "instance_group": [{ "count": 2, "kind": "cpu" }] }
                """)
            .Add("mlp_small", "mlp_unbatched").WriteConfig("mlp_unbatched", """{ "max_batch_size": 0 }""")
            .Add("simple").WriteConfig("simple", """
                { "max_batch_size": 8, "output": [{ "name": "OUTPUT1", "datatype": "INT32", "dims": [16] }] }
                """);
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var mlp = engine.Catalog.Describe("mlp_small", null).Config;
        Assert.Equal(16, mlp.MaxBatchSize);
        Assert.Equal([64L], Only(mlp.Input).Dims);
        Assert.Equal([8], mlp.DynamicBatching!.PreferredBatchSize);
        Assert.Equal(2, Assert.Single(mlp.InstanceGroup).Count);

        var unbatched = engine.Catalog.Describe("mlp_unbatched", null).Config;
        Assert.Equal(0, unbatched.MaxBatchSize);
        Assert.Equal([-1L, 64L], Only(unbatched.Input).Dims);
        Assert.Null(unbatched.DynamicBatching);

        // A config that lists a subset of the outputs serves only those; without dynamic_batching it does not batch.
        var simple = engine.Catalog.Describe("simple", null).Config;
        Assert.Equal("OUTPUT1", Only(simple.Output).Name);
        Assert.Null(simple.DynamicBatching);
        using var request = Tensors.Request("simple",
            Tensors.Int32("INPUT0", [8, 16], new int[128]), Tensors.Int32("INPUT1", [8, 16], new int[128]));
        using var response = await engine.Dispatcher.InferAsync(request, default);
        Assert.Equal("OUTPUT1", Assert.Single(response.Outputs).Name);
    }

    [Theory]
    [InlineData("""{ "max_batch_size": 4, """, "config.json is not a valid model config")]
    [InlineData("""{ "max_batch_size": 4, "dynamic_batching": { "max_queue_delay_microsecond": 100 } }""",
        "The JSON property 'max_queue_delay_microsecond' could not be mapped")]
    [InlineData("""{ "max_batch_size": -1 }""", "max_batch_size must be 0 (no batch dimension) or positive, got -1")]
    [InlineData("""{ "max_batch_size": 4, "dynamic_batching": { "preferred_batch_size": [8] } }""",
        "preferred_batch_size 8 must be between 1 and max_batch_size 4")]
    [InlineData("""{ "input": [{ "name": "input", "datatype": "FLOAT32", "dims": [64] }] }""",
        "input 'input' has unknown datatype 'FLOAT32'; expected one of BOOL")]
    [InlineData("""{ "max_batch_size": 4, "input": [{ "name": "input", "datatype": "FP32", "dims": [-1, 64] }] }""",
        "config input 'input' has dims [-1,64], but the model's are [64] (dims exclude the batch dimension because max_batch_size is 4)")]
    [InlineData("""{ "input": [{ "name": "input", "datatype": "FP16", "dims": [64] }] }""",
        "config input 'input' has datatype FP16, but the model's is FP32")]
    [InlineData("""{ "input": [{ "name": "pixels", "datatype": "FP32", "dims": [64] }] }""",
        "config input 'pixels' is not an input of the model; the model's inputs are input")]
    [InlineData("""{ "instance_group": [{ "count": 1, "kind": "gpu" }] }""",
        "instance_group kind 'gpu' (GPU 0) needs the GPU build of the server")]
    [InlineData("""{ "version_policy": { "specific": { "versions": [2] } } }""", "model file 2/model.onnx not found")]
    public async Task A_bad_config_fails_that_model_with_the_reason_and_others_keep_serving(string config, string reason)
    {
        using var repository = new TestRepository().Add("mlp_small", "broken").WriteConfig("broken", config).Add("simple");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        Assert.True(engine.Catalog.IsServerReady);
        var failed = Assert.Single(engine.Catalog.Index(), entry => entry.Name == "broken");
        Assert.Equal(ModelVersionState.Failed, failed.State);
        Assert.Contains(reason, failed.Reason);
        Assert.False(engine.Catalog.IsReady("broken", null));
        var error = Assert.Throws<InferenceException>(() => engine.Catalog.Describe("broken", null));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        var loadError = await Assert.ThrowsAsync<InferenceException>(() => engine.Catalog.LoadAsync("broken", default));
        Assert.Contains(reason, loadError.Message);

        Assert.True(engine.Catalog.IsReady("simple", null));
    }

    [Fact]
    public async Task A_batch_dimension_the_model_lacks_is_refused()
    {
        using var repository = new TestRepository().Add("fixed_no_batch").WriteConfig("fixed_no_batch", """{ "max_batch_size": 8 }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var entry = Assert.Single(engine.Catalog.Index());
        Assert.Equal(ModelVersionState.Failed, entry.State);
        Assert.Contains("max_batch_size 8 needs a dynamic first dimension on every input and output, but 'input' has shape [4]", entry.Reason);
    }

    [Fact]
    public async Task A_corrupt_model_file_is_reported_and_never_takes_others_down()
    {
        var garbage = new byte[4096];
        new Random(3).NextBytes(garbage);
        using var repository = new TestRepository().WriteModelFile("corrupt", 1, garbage).Add("mlp_small");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        var entry = Assert.Single(engine.Catalog.Index(), e => e.Name == "corrupt");
        Assert.Equal(("1", ModelVersionState.Failed), (entry.Version, entry.State));
        Assert.StartsWith("ONNX Runtime could not load model.onnx", entry.Reason);

        using var request = Tensors.Request("corrupt", Tensors.Fp32("input", [1, 64], new float[64]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => engine.Dispatcher.InferAsync(request, default).AsTask());
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Contains("ONNX Runtime could not load", error.Message);

        using var good = Tensors.Request("mlp_small", Tensors.Fp32("input", [1, 64], new float[64]));
        using var response = await engine.Dispatcher.InferAsync(good, default);
        Assert.Single(response.Outputs);
    }

    [Fact]
    public async Task Version_policies_select_the_versions_served()
    {
        using var repository = new TestRepository();
        foreach (var model in new[] { "latest1", "latest2", "all", "specific" })
        {
            repository.AddVersion("mlp_small", model, 1).AddVersion("mlp_small", model, 2).AddVersion("mlp_small", model, 3);
        }
        repository
            .WriteConfig("latest2", """{ "version_policy": { "latest": { "num_versions": 2 } } }""")
            .WriteConfig("all", """{ "version_policy": { "all": {} } }""")
            .WriteConfig("specific", """{ "version_policy": { "specific": { "versions": [1, 3] } } }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        Assert.Equal(["3"], engine.Catalog.Describe("latest1", null).ReadyVersions);
        Assert.Equal(["3", "2"], engine.Catalog.Describe("latest2", null).ReadyVersions);
        Assert.Equal(["3", "2", "1"], engine.Catalog.Describe("all", null).ReadyVersions);
        Assert.Equal(["3", "1"], engine.Catalog.Describe("specific", null).ReadyVersions);
        Assert.False(engine.Catalog.IsReady("specific", "2"));

        using (var explicitVersion = Tensors.Request("all", "2", Tensors.Fp32("input", [1, 64], new float[64])))
        using (var response = await engine.Dispatcher.InferAsync(explicitVersion, default))
        {
            Assert.Equal("2", response.ModelVersion);
        }
        using (var defaultVersion = Tensors.Request("all", Tensors.Fp32("input", [1, 64], new float[64])))
        using (var response = await engine.Dispatcher.InferAsync(defaultVersion, default))
        {
            Assert.Equal("3", response.ModelVersion);
        }
        using var notServed = Tensors.Request("latest1", "1", Tensors.Fp32("input", [1, 64], new float[64]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => engine.Dispatcher.InferAsync(notServed, default).AsTask());
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Starts_with_an_empty_repository_and_loads_models_added_later()
    {
        using var repository = new TestRepository();
        await using var engine = await EngineHost.StartAsync(repository.Path);
        Assert.Empty(engine.Catalog.Index());

        repository.Add("simple");
        Assert.Equal(("simple", "", ModelVersionState.Unavailable), Project(Assert.Single(engine.Catalog.Index())));
        await engine.Catalog.LoadAsync("simple", default);
        Assert.Equal(("simple", "1", ModelVersionState.Ready), Project(Assert.Single(engine.Catalog.Index())));

        var outside = await Assert.ThrowsAsync<InferenceException>(() => engine.Catalog.LoadAsync("../simple", default));
        Assert.Equal(InferenceErrorKind.NotFound, outside.Kind);
    }

    private static (string, string, ModelVersionState) Project(ModelIndexEntry entry) => (entry.Name, entry.Version, entry.State);

    [Fact]
    public async Task A_negative_inline_execution_limit_stops_start_up_naming_the_setting()
    {
        using var repository = new TestRepository().Add("simple");
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            EngineHost.StartAsync(repository.Path, new Dictionary<string, string?> { ["Inference:InlineExecutionMaxMicroseconds"] = "-5" }));
        Assert.Contains("Inference:InlineExecutionMaxMicroseconds must be 0 (never) or positive, got -5", error.Message);
    }

    [Fact]
    public async Task A_missing_repository_stops_start_up_with_a_clear_message()
    {
        var missing = Path.Combine(Path.GetTempPath(), "hyperion-no-such-repository");
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => EngineHost.StartAsync(missing));
        Assert.Contains($"Inference:ModelRepository '{missing}' is not a directory", error.Message);

        await using var engine = await EngineHost.StartAsync("");
        Assert.True(engine.Catalog.IsServerReady);
        Assert.Empty(engine.Catalog.Index());
    }

    private static string Describe(ModelTensorConfig tensor) => $"{tensor.Name} {tensor.DataType} [{string.Join(',', tensor.Dims)}]";

    private static ModelTensorConfig Only(IReadOnlyList<ModelTensorConfig> tensors) => Assert.Single(tensors);
}
