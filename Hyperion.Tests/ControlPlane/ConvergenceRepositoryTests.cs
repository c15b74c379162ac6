using Hyperion.Inference.Serving;
using Hyperion.Tests.Engine;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// The repository layout the convergence agent writes: the model's config.json says which versions load,
/// each version's own config.json says how, so one version's settings never break another's.
/// </summary>
public sealed class ConvergenceRepositoryTests
{
    private const string Policy = """{"version_policy": {"specific": {"versions": [1, 2]}}}""";

    [Fact]
    public async Task A_version_whose_own_config_the_engine_refuses_fails_alone()
    {
        using var repository = new TestRepository()
            .AddVersion("digits", "m", 1)
            .AddVersion("digits", "m", 2)
            .WriteConfig("m", Policy);
        File.WriteAllText(Path.Combine(repository.Path, "m", "2", "config.json"), """{"instance_group": [{"kind": "gpu", "count": 1}]}""");

        await using var engine = await EngineHost.StartAsync(repository.Path);
        var states = engine.Catalog.Index().Where(e => e.Name == "m").ToDictionary(e => e.Version);
        Assert.Equal(ModelVersionState.Ready, states["1"].State);
        Assert.Equal(ModelVersionState.Failed, states["2"].State);
        Assert.Contains("gpu", states["2"].Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Each_version_loads_with_its_own_config()
    {
        using var repository = new TestRepository()
            .AddVersion("digits", "m", 1)
            .AddVersion("digits", "m", 2)
            .WriteConfig("m", Policy);
        File.WriteAllText(Path.Combine(repository.Path, "m", "1", "config.json"), """{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 100}}""");
        File.WriteAllText(Path.Combine(repository.Path, "m", "2", "config.json"), """{"max_batch_size": 2}""");

        await using var engine = await EngineHost.StartAsync(repository.Path);
        var one = engine.Catalog.Describe("m", "1").Config;
        var two = engine.Catalog.Describe("m", "2").Config;
        Assert.Equal(8, one.MaxBatchSize);
        Assert.Equal(100, one.DynamicBatching!.MaxQueueDelayMicroseconds);
        Assert.Equal(2, two.MaxBatchSize);
        Assert.Null(two.DynamicBatching);
    }

    [Fact]
    public async Task A_version_config_may_not_choose_versions()
    {
        using var repository = new TestRepository()
            .AddVersion("digits", "m", 1)
            .AddVersion("digits", "m", 2)
            .WriteConfig("m", Policy);
        File.WriteAllText(Path.Combine(repository.Path, "m", "2", "config.json"), """{"version_policy": {"all": {}}}""");

        await using var engine = await EngineHost.StartAsync(repository.Path);
        var two = engine.Catalog.Index().Single(e => e.Name == "m" && e.Version == "2");
        Assert.Equal(ModelVersionState.Failed, two.State);
        Assert.Contains("2/config.json sets version_policy", two.Reason);
        Assert.True(engine.Catalog.IsReady("m", "1"));
    }
}
