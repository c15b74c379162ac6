using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Tests.Engine;

/// <summary>Dynamic batcher semantics, observed through the real ONNX Runtime backend and the engine's metrics.</summary>
public sealed class BatcherTests : IAsyncLifetime
{
    // Long enough that a batch cut before it passes was cut for another reason.
    private const long LongDelayMicroseconds = 60_000_000;
    private static readonly TimeSpan WellBeforeTheDelay = TimeSpan.FromSeconds(20);

    private readonly TestRepository _repository = new();
    private EngineHost _engine = null!;
    private MetricsCapture _capture = null!;

    public async Task InitializeAsync()
    {
        _repository
            .Add("mlp_small", "batched").WriteConfig("batched", """
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 100000 } }
                """)
            .Add("mlp_small", "preferred").WriteConfig("preferred", $$"""
                { "max_batch_size": 8, "dynamic_batching": { "preferred_batch_size": [4], "max_queue_delay_microseconds": {{LongDelayMicroseconds}} } }
                """)
            .Add("mlp_small", "full").WriteConfig("full", $$"""
                { "max_batch_size": 4, "dynamic_batching": { "max_queue_delay_microseconds": {{LongDelayMicroseconds}} } }
                """)
            .Add("mlp_small", "delayed").WriteConfig("delayed", """
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 300000 } }
                """)
            .Add("mlp_small", "bounded").WriteConfig("bounded", $$"""
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": {{LongDelayMicroseconds}}, "max_queue_size": 2 } }
                """)
            .Add("mlp_small", "expiring").WriteConfig("expiring", $$"""
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": {{LongDelayMicroseconds}}, "default_timeout_microseconds": 200000 } }
                """)
            .Add("mlp_small", "waiting").WriteConfig("waiting", $$"""
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": {{LongDelayMicroseconds}} } }
                """)
            .Add("mlp_small", "unbatched").WriteConfig("unbatched", """{ "max_batch_size": 8, "instance_group": [{ "count": 2 }] }""")
            .Add("identity_bytes").WriteConfig("identity_bytes", """
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 200000 } }
                """)
            .Add("row_sum").WriteConfig("row_sum", """
                { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 200000 } }
                """);
        _engine = await EngineHost.StartAsync(_repository.Path);
        _capture = new MetricsCapture(_engine.Metrics);
    }

    public async Task DisposeAsync()
    {
        _capture.Dispose();
        await _engine.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_and_each_gets_its_own_rows_back()
    {
        var random = new Random(11);
        var inputs = new List<float[]>();
        var calls = new List<Task<InferenceResponse>>();
        for (var i = 0; i < 24; i++)
        {
            var rows = 1 + i % 3;
            var values = Tensors.RandomFloats(random, rows * 64);
            inputs.Add(values);
            calls.Add(Infer("batched", Tensors.Fp32("input", [rows, 64], values)));
        }
        await Task.WhenAll(calls);

        using var session = new InferenceSession(Path.Combine(TestRepository.TestModels, "mlp_small", "1", "model.onnx"));
        for (var i = 0; i < calls.Count; i++)
        {
            using var response = await calls[i];
            var logits = response.Output("logits");
            var rows = inputs[i].Length / 64;
            Assert.Equal([(long)rows, 10L], logits.Shape);
            var expected = Tensors.MlpSmallInProcess(session, inputs[i], rows);
            var actual = Tensors.ToFloats(logits);
            for (var k = 0; k < expected.Length; k++)
            {
                Assert.Equal(expected[k], actual[k], 1e-4f);
            }
        }
        var batches = _capture.Values("hyperion_inference_batch_size", "batched");
        Assert.Contains(batches, rows => rows > 3);
        Assert.All(batches, rows => Assert.InRange(rows, 1, 8));
        Assert.Equal(48, batches.Sum());
    }

    [Fact]
    public async Task A_preferred_batch_size_is_cut_without_waiting_for_the_delay()
    {
        var calls = Enumerable.Range(0, 4).Select(_ => Infer("preferred", Rows(1))).ToArray();

        await WithinAsync(Task.WhenAll(calls), WellBeforeTheDelay);

        Assert.Equal([4.0], _capture.Values("hyperion_inference_batch_size", "preferred"));
        DisposeAll(calls);
    }

    [Fact]
    public async Task A_full_batch_is_cut_without_waiting_for_the_delay()
    {
        var calls = new[] { Infer("full", Rows(2)), Infer("full", Rows(2)) };

        await WithinAsync(Task.WhenAll(calls), WellBeforeTheDelay);

        Assert.Equal([4.0], _capture.Values("hyperion_inference_batch_size", "full"));
        DisposeAll(calls);
    }

    [Fact]
    public async Task The_queue_delay_cuts_a_partial_batch()
    {
        var calls = new[] { Infer("delayed", Rows(1)), Infer("delayed", Rows(2)), Infer("delayed", Rows(1)) };

        await Task.WhenAll(calls);

        Assert.Equal([4.0], _capture.Values("hyperion_inference_batch_size", "delayed"));
        var waits = _capture.Values("hyperion_inference_queue_duration_seconds", "delayed");
        Assert.Equal(3, waits.Count);
        Assert.Contains(waits, seconds => seconds >= 0.29);
        DisposeAll(calls);
    }

    [Fact]
    public async Task A_full_queue_refuses_and_cancelled_requests_are_dropped_before_running()
    {
        using var cancel = new CancellationTokenSource();
        var first = Infer("bounded", Rows(1), cancel.Token);
        var second = Infer("bounded", Rows(1), cancel.Token);

        var refused = await Assert.ThrowsAsync<InferenceException>(() => Infer("bounded", Rows(1)));
        Assert.Equal(InferenceErrorKind.QueueFull, refused.Kind);
        Assert.Contains("max_queue_size 2", refused.Message);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Empty(_capture.Values("hyperion_inference_batch_size", "bounded"));
        Assert.Equal(1, _capture.Count("bounded", "queue_full"));
        Assert.Equal(2, _capture.Count("bounded", "cancelled"));
    }

    [Fact]
    public async Task A_request_that_waits_past_its_timeout_is_dropped_before_running()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => WithinAsync(Infer("expiring", Rows(1)), WellBeforeTheDelay));
        Assert.Equal(InferenceErrorKind.Timeout, error.Kind);

        using var request = new InferenceRequest { ModelName = "waiting", Timeout = TimeSpan.FromMilliseconds(100) };
        request.Inputs.Add(Rows(1));
        error = await Assert.ThrowsAsync<InferenceException>(
            () => WithinAsync(_engine.Dispatcher.InferAsync(request, default).AsTask(), WellBeforeTheDelay));
        Assert.Equal(InferenceErrorKind.Timeout, error.Kind);
        Assert.Contains("timed out", error.Message);

        Assert.Empty(_capture.Values("hyperion_inference_batch_size", "expiring"));
        Assert.Empty(_capture.Values("hyperion_inference_batch_size", "waiting"));
        Assert.Equal(1, _capture.Count("waiting", "timeout"));
    }

    [Fact]
    public async Task Requests_of_different_lengths_are_never_concatenated()
    {
        var random = new Random(5);
        var inputs = new List<float[][]>();
        var calls = new List<Task<InferenceResponse>>();
        for (var i = 0; i < 12; i++)
        {
            var columns = new[] { 3, 5, 8 }[i % 3];
            var rows = 1 + i % 2;
            var data = Enumerable.Range(0, rows).Select(_ => Tensors.RandomFloats(random, columns)).ToArray();
            inputs.Add(data);
            calls.Add(Infer("row_sum", Tensors.Fp32("input", [rows, columns], data.SelectMany(r => r).ToArray())));
        }
        await Task.WhenAll(calls);

        for (var i = 0; i < calls.Count; i++)
        {
            using var response = await calls[i];
            var sums = Tensors.ToFloats(response.Output("sum"));
            Assert.Equal(inputs[i].Length, sums.Length);
            for (var r = 0; r < sums.Length; r++)
            {
                Assert.Equal(inputs[i][r].Sum(), sums[r], 1e-4f);
            }
        }
        // Same-length requests still batch together: 12 requests ran in fewer than 12 batches.
        var batches = _capture.Values("hyperion_inference_batch_size", "row_sum");
        Assert.True(batches.Count < 12, $"expected batching within each length, got {batches.Count} batches");
        Assert.Equal(18, batches.Sum());
    }

    [Fact]
    public async Task Batched_strings_go_back_to_their_own_requests()
    {
        string[][] inputs =
        [
            ["a", "bb", "ccc", "dddd"],
            ["", "long string number two", "ü", "x", "first of row two", "", "y", "z"],
            ["🙂", "q", "rr", ""],
        ];
        var calls = inputs.Select(values =>
            Infer("identity_bytes", Tensors.Bytes("INPUT0", [values.Length / 4, 4], values))).ToArray();
        await Task.WhenAll(calls);

        for (var i = 0; i < inputs.Length; i++)
        {
            using var response = await calls[i];
            using var expected = Tensors.Bytes("OUTPUT0", [inputs[i].Length / 4, 4], inputs[i]);
            var output = response.Output("OUTPUT0");
            Assert.Equal(expected.Shape, output.Shape);
            Assert.Equal(expected.Span.ToArray(), output.Span.ToArray());
        }
        Assert.Equal([4.0], _capture.Values("hyperion_inference_batch_size", "identity_bytes"));
    }

    [Fact]
    public async Task Without_a_dynamic_batcher_every_request_runs_alone()
    {
        var calls = Enumerable.Range(0, 8).Select(i => Infer("unbatched", Rows(1 + i % 2))).ToArray();

        await Task.WhenAll(calls);

        var batches = _capture.Values("hyperion_inference_batch_size", "unbatched");
        Assert.Equal(8, batches.Count);
        Assert.Equal(12, batches.Sum());
        DisposeAll(calls);
    }

    [Fact]
    public async Task Gauges_report_queue_depth_and_readiness()
    {
        using var cancel = new CancellationTokenSource();
        var queued = new[] { Infer("waiting", Rows(1), cancel.Token), Infer("waiting", Rows(2), cancel.Token) };

        _capture.Observe();

        var depth = _capture.Measurements.Where(m => m.Instrument == "hyperion_inference_queue_depth" && m.Tags["model"] == "waiting");
        Assert.Equal(2.0, Assert.Single(depth).Value);
        var ready = _capture.Measurements.Where(m => m.Instrument == "hyperion_inference_model_ready" && m.Tags["model"] == "waiting");
        Assert.Equal(("1", 1.0), Assert.Single(ready.Select(m => (m.Tags["version"], m.Value))));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(queued));
    }

    private Task<InferenceResponse> Infer(string model, TensorData input, CancellationToken cancellationToken = default)
    {
        var request = Tensors.Request(model, input);
        return InferAndDispose(request, cancellationToken);
    }

    private async Task<InferenceResponse> InferAndDispose(InferenceRequest request, CancellationToken cancellationToken)
    {
        using (request)
        {
            return await _engine.Dispatcher.InferAsync(request, cancellationToken);
        }
    }

    private static TensorData Rows(int rows) => Tensors.Fp32("input", [rows, 64], new float[rows * 64]);

    private static async Task WithinAsync(Task task, TimeSpan limit)
    {
        if (await Task.WhenAny(task, Task.Delay(limit)) != task)
        {
            throw new TimeoutException($"not finished within {limit.TotalSeconds} s");
        }
        await task;
    }

    private static void DisposeAll(IEnumerable<Task<InferenceResponse>> calls)
    {
        foreach (var call in calls)
        {
            call.Result.Dispose();
        }
    }
}
