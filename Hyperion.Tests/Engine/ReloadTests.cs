using Hyperion.Contracts.Inference;
using Hyperion.Inference.Serving;

namespace Hyperion.Tests.Engine;

/// <summary>Loading, unloading and reloading never drops requests to other versions or models.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task A_new_version_replaces_the_old_one_while_requests_keep_flowing()
    {
        using var repository = new TestRepository().AddVersion("mlp_small", "m", 1).Add("simple");
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var traffic = new Traffic(engine, "m", "simple");

        await traffic.WarmUpAsync();
        repository.AddVersion("mlp_small", "m", 2);
        await engine.Catalog.LoadAsync("m", default);
        await traffic.UntilServedAsync("m", "2");
        var served = await traffic.StopAsync();

        Assert.Equal(["2"], engine.Catalog.Describe("m", null).ReadyVersions);
        Assert.Contains(("m", "1"), served);
        Assert.Contains(("m", "2"), served);
        Assert.Contains(("simple", "1"), served);
        Assert.Equal(
            [("m", "1", ModelVersionState.Unavailable), ("m", "2", ModelVersionState.Ready)],
            engine.Catalog.Index().Where(e => e.Name == "m").Select(e => (e.Name, e.Version, e.State)).Order());
    }

    [Fact]
    public async Task Unloading_and_loading_a_model_leaves_other_models_serving()
    {
        using var repository = new TestRepository().Add("mlp_small").Add("simple");
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var traffic = new Traffic(engine, "simple");

        await traffic.WarmUpAsync();
        await engine.Catalog.UnloadAsync("mlp_small", default);
        Assert.False(engine.Catalog.IsReady("mlp_small", null));
        Assert.Equal(("1", ModelVersionState.Unavailable, "unloaded"),
            engine.Catalog.Index().Where(e => e.Name == "mlp_small").Select(e => (e.Version, e.State, e.Reason)).Single());
        using (var request = Tensors.Request("mlp_small", Tensors.Fp32("input", [1, 64], new float[64])))
        {
            var error = await Assert.ThrowsAsync<InferenceException>(() => engine.Dispatcher.InferAsync(request, default).AsTask());
            Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        }
        await engine.Catalog.LoadAsync("mlp_small", default);
        Assert.True(engine.Catalog.IsReady("mlp_small", "1"));
        await traffic.StopAsync();
    }

    [Fact]
    public async Task Unloading_lets_queued_requests_finish_first()
    {
        using var repository = new TestRepository().Add("mlp_small").WriteConfig("mlp_small", """
            { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 300000 } }
            """);
        await using var engine = await EngineHost.StartAsync(repository.Path);
        var queued = Enumerable.Range(0, 3).Select(_ => InferAsync(engine, "mlp_small")).ToArray();

        await engine.Catalog.UnloadAsync("mlp_small", default);

        foreach (var call in queued)
        {
            using var response = await call;
            Assert.Equal([1L, 10L], response.Output("logits").Shape);
        }
        var error = await Assert.ThrowsAsync<InferenceException>(() => InferAsync(engine, "mlp_small"));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
    }

    [Fact]
    public async Task A_changed_model_file_is_reloaded_with_its_new_signature()
    {
        using var repository = new TestRepository().AddVersion("identity_fp32", "m", 1);
        await using var engine = await EngineHost.StartAsync(repository.Path);
        Assert.Equal("OUTPUT0", engine.Catalog.Describe("m", null).Config.Output.Single().Name);

        File.Copy(Path.Combine(TestRepository.TestModels, "row_sum", "1", "model.onnx"), Path.Combine(repository.Path, "m", "1", "model.onnx"), overwrite: true);
        await engine.Catalog.LoadAsync("m", default);

        Assert.Equal("sum", engine.Catalog.Describe("m", null).Config.Output.Single().Name);
        using var request = Tensors.Request("m", Tensors.Fp32("input", [1, 3], [1, 2, 3]));
        using var response = await engine.Dispatcher.InferAsync(request, default);
        Assert.Equal([6f], Tensors.ToFloats(response.Output("sum")));
    }

    [Fact]
    public async Task A_reload_that_fails_keeps_the_loaded_version_serving()
    {
        using var repository = new TestRepository().Add("mlp_small");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        repository.WriteModelFile("mlp_small", 1, [1, 2, 3, 4, 5]);
        var error = await Assert.ThrowsAsync<InferenceException>(() => engine.Catalog.LoadAsync("mlp_small", default));
        Assert.Contains("version 1: ONNX Runtime could not load", error.Message);

        var entry = Assert.Single(engine.Catalog.Index());
        Assert.Equal(ModelVersionState.Ready, entry.State);
        Assert.StartsWith("reload failed, still serving the previously loaded files", entry.Reason);
        using var response = await InferAsync(engine, "mlp_small");
        Assert.Equal("1", response.ModelVersion);

        repository.WriteConfig("mlp_small", "{ not json");
        error = await Assert.ThrowsAsync<InferenceException>(() => engine.Catalog.LoadAsync("mlp_small", default));
        Assert.Contains("config.json is not a valid model config", error.Message);
        Assert.True(engine.Catalog.IsReady("mlp_small", "1"));
    }

    private static async Task<InferenceResponse> InferAsync(EngineHost engine, string model)
    {
        using var request = Tensors.Request(model, Tensors.Fp32("input", [1, 64], new float[64]));
        return await engine.Dispatcher.InferAsync(request, default);
    }

    /// <summary>Closed-loop clients that fail the test on any error and record which versions served them.</summary>
    private sealed class Traffic : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _clients;
        private readonly HashSet<(string, string)> _served = [];

        public Traffic(EngineHost engine, params string[] models)
        {
            _clients = models.Select(model => Task.Run(() => RunAsync(engine, model))).ToArray();
        }

        public Task WarmUpAsync() => UntilAsync(() => _served.Count > 0);

        public Task UntilServedAsync(string model, string version) => UntilAsync(() => _served.Contains((model, version)));

        public async Task<HashSet<(string, string)>> StopAsync()
        {
            _stop.Cancel();
            await Task.WhenAll(_clients);
            lock (_served)
            {
                return [.. _served];
            }
        }

        public void Dispose() => _stop.Dispose();

        private async Task UntilAsync(Func<bool> condition)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                lock (_served)
                {
                    if (condition())
                    {
                        return;
                    }
                }
                if (_clients.FirstOrDefault(c => c.IsFaulted) is { } failed)
                {
                    await failed;
                }
                Assert.True(DateTime.UtcNow < deadline, "traffic made no progress");
                await Task.Delay(5);
            }
        }

        private async Task RunAsync(EngineHost engine, string model)
        {
            while (!_stop.IsCancellationRequested)
            {
                using var request = model == "simple"
                    ? Tensors.Request(model, Tensors.Int32("INPUT0", [1, 16], new int[16]), Tensors.Int32("INPUT1", [1, 16], new int[16]))
                    : Tensors.Request(model, Tensors.Fp32("input", [1, 64], new float[64]));
                using var response = await engine.Dispatcher.InferAsync(request, default);
                lock (_served)
                {
                    _served.Add((model, response.ModelVersion));
                }
            }
        }
    }
}
