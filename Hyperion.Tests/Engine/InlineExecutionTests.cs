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

    [Fact]
    public async Task A_fast_model_answers_before_the_call_returns_and_setting_zero_hands_every_request_to_a_worker()
    {
        using var repository = new TestRepository().Add("mlp_small", "m").WriteConfig("m", """{ "max_batch_size": 8 }""");
        await using (var inline = await EngineHost.StartAsync(repository.Path))
        {
            Assert.Equal(20, await CompletedBeforeReturnAsync(inline));
        }
        await using var workers = await EngineHost.StartAsync(repository.Path, new Dictionary<string, string?> { ["Inference:InlineExecutionMaxMicroseconds"] = "0" });
        // A worker's answer arrives after the call returned (a thread wake-up later), all but never 20 times in a row.
        Assert.True(await CompletedBeforeReturnAsync(workers) < 20);
    }

    /// <summary>Of 20 calls after a warm-up (which measures the model), how many were answered by the time the call returned.</summary>
    private static async Task<int> CompletedBeforeReturnAsync(EngineHost engine)
    {
        for (var i = 0; i < 50; i++)
        {
            using var warmUp = Tensors.Request("m", Tensors.Fp32("input", [1, 64], new float[64]));
            using var answer = await engine.Dispatcher.InferAsync(warmUp, default);
        }
        var completed = 0;
        for (var i = 0; i < 20; i++)
        {
            using var request = Tensors.Request("m", Tensors.Fp32("input", [1, 64], new float[64]));
            var call = engine.Dispatcher.InferAsync(request, default);
            if (call.IsCompleted)
            {
                completed++;
            }
            using var response = await call;
            Assert.Equal([1L, 10L], response.Output("logits").Shape);
        }
        return completed;
    }
}
