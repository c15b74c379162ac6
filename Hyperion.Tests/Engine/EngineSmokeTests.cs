using Hyperion.Inference.Serving;

namespace Hyperion.Tests.Engine;

public sealed class EngineSmokeTests
{
    [Fact]
    public async Task Serves_the_test_models()
    {
        using var repository = new TestRepository().Add("mlp_small").Add("simple").Add("identity_bytes");
        await using var engine = await EngineHost.StartAsync(repository.Path);

        Assert.All(engine.Catalog.Index(), entry => Assert.Equal(ModelVersionState.Ready, entry.State));
        using var request = Tensors.Request("simple",
            Tensors.Int32("INPUT0", [1, 16], Enumerable.Range(0, 16).ToArray()),
            Tensors.Int32("INPUT1", [1, 16], Enumerable.Repeat(1, 16).ToArray()));
        using var response = await engine.Dispatcher.InferAsync(request, CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 16), Tensors.ToInts(response.Output("OUTPUT0")));
        Assert.Equal(Enumerable.Range(-1, 16), Tensors.ToInts(response.Output("OUTPUT1")));
    }
}
