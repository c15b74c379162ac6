using Hyperion.Contracts.Inference;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Tests.Engine;

/// <summary>
/// A fast model without a dynamic batcher runs on the caller's thread when an instance is free
/// (<c>Inference:InlineExecutionMaxMicroseconds</c>), mixed with runs on its instances' workers when they are not.
/// </summary>
public sealed class InlineExecutionTests
{
    [Fact]
    public async Task Concurrent_callers_of_a_fast_unbatched_model_each_get_their_own_answer()
    {
        using var repository = new TestRepository()
            .Add("mlp_small", "single").WriteConfig("single", """{ "max_batch_size": 8 }""")
            .Add("mlp_small", "pair").WriteConfig("pair", """{ "max_batch_size": 8, "instance_group": [{ "count": 2 }] }""");
        await using var engine = await EngineHost.StartAsync(repository.Path);
        using var session = new InferenceSession(Path.Combine(TestRepository.TestModels, "mlp_small", "1", "model.onnx"));

        // More callers than instances: some run inline, the rest queue for a worker or wait for an instance.
        var callers = Enumerable.Range(0, 12).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            var model = caller % 2 == 0 ? "single" : "pair";
            for (var i = 0; i < 60; i++)
            {
                var rows = 1 + (i % 3);
                var input = Tensors.RandomFloats(random, rows * 64);
                using var request = Tensors.Request(model, Tensors.Fp32("input", [rows, 64], input));
                using var response = await engine.Dispatcher.InferAsync(request, default);
                var actual = Tensors.ToFloats(response.Output("logits"));
                float[] expected;
                lock (session)
                {
                    expected = Tensors.MlpSmallInProcess(session, input, rows);
                }
                Assert.Equal(expected.Length, actual.Length);
                for (var k = 0; k < expected.Length; k++)
                {
                    Assert.Equal(expected[k], actual[k], 1e-4f);
                }
            }
        })).ToArray();
        await Task.WhenAll(callers);
    }
}
