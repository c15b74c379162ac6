using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Batching;
using Hyperion.Inference.Repository;

namespace Hyperion.Tests.Engine;

/// <summary>
/// Batch forming and queue handling as a plain object: no threads, no model, the time passed in. The same rules
/// seen through the real engine are in <see cref="BatcherTests"/>.
/// </summary>
public sealed class BatchQueueTests
{
    private const long T0 = 1_000_000_000;
    private static readonly ModelVersionKey Key = new("m", "1");

    [Fact]
    public void The_largest_reachable_preferred_size_is_cut_without_waiting_and_the_rest_keeps_its_place()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, preferred: [2, 4], delayMs: 60_000));
        var requests = Enumerable.Range(0, 5).Select(_ => Add(queue, rows: 1, at: T0)).ToArray();

        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));

        Assert.Equal(requests[..4], batch);
        Assert.Equal(1, queue.Count);
        batch.Clear();
        Assert.True(queue.TakeBatch(T0, batch) > 0);
        Assert.Empty(batch);
        Assert.True(requests[4].IsQueued);
    }

    [Fact]
    public void A_full_batch_is_cut_at_once_and_a_request_that_would_overflow_it_waits_for_the_next()
    {
        var queue = Queue(Dynamic(maxBatchSize: 4, delayMs: 60_000));
        var first = Add(queue, rows: 2, at: T0);
        var second = Add(queue, rows: 2, at: T0);
        var third = Add(queue, rows: 1, at: T0);

        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Equal([first, second], batch);

        var overflowing = Queue(Dynamic(maxBatchSize: 4, delayMs: 60_000));
        var three = Add(overflowing, rows: 3, at: T0);
        Add(overflowing, rows: 2, at: T0);
        batch.Clear();
        Assert.Equal(0, overflowing.TakeBatch(T0, batch));
        Assert.Equal([three], batch);
        Assert.Equal(1, overflowing.Count);
        Assert.True(third.IsQueued);
    }

    [Fact]
    public void A_partial_batch_waits_until_the_oldest_request_has_waited_the_queue_delay()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 300));
        Add(queue, rows: 1, at: T0);
        Add(queue, rows: 2, at: T0 + Ms(50));
        var batch = new List<PendingRequest>();

        Assert.Equal(Ms(200), queue.TakeBatch(T0 + Ms(100), batch));
        Assert.Empty(batch);
        Assert.Equal(1, queue.TakeBatch(T0 + Ms(300) - 1, batch));
        Assert.Empty(batch);

        Assert.Equal(0, queue.TakeBatch(T0 + Ms(300), batch));
        Assert.Equal([1, 2], batch.Select(r => r.Rows));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_zero_queue_delay_cuts_whatever_is_queued_at_once()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, preferred: [4], delayMs: 0));
        Add(queue, rows: 1, at: T0);
        Add(queue, rows: 1, at: T0);

        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Equal(2, batch.Count);
    }

    [Fact]
    public void The_wait_for_a_batch_ends_early_when_a_request_in_it_reaches_its_deadline()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 300));
        Add(queue, rows: 1, at: T0);
        var expiring = Add(queue, rows: 1, at: T0, deadline: T0 + Ms(40));
        var batch = new List<PendingRequest>();

        Assert.Equal(Ms(30), queue.TakeBatch(T0 + Ms(10), batch));

        queue.RemoveFinished(T0 + Ms(40));
        Assert.False(expiring.IsQueued);
        Assert.Equal(1, queue.Count);
        var error = Assert.IsType<InferenceException>(expiring.AsValueTask().AsTask().Exception?.InnerException);
        Assert.Equal(InferenceErrorKind.Timeout, error.Kind);
        Assert.Equal("request timed out after 40 ms in the queue of model 'm' version 1", error.Message);
    }

    [Fact]
    public void Requests_whose_non_batch_dimensions_differ_from_the_oldest_are_left_for_a_later_batch()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 0), compareShapes: true);
        var three = Add(queue, rows: 1, at: T0, columns: 3);
        var five = Add(queue, rows: 2, at: T0, columns: 5);
        var threeAgain = Add(queue, rows: 2, at: T0, columns: 3);

        var batch = new List<PendingRequest>();
        queue.TakeBatch(T0, batch);
        Assert.Equal([three, threeAgain], batch);

        batch.Clear();
        queue.TakeBatch(T0, batch);
        Assert.Equal([five], batch);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Without_shape_checks_requests_are_batched_whatever_their_shapes()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 0), compareShapes: false);
        Add(queue, rows: 1, at: T0, columns: 3);
        Add(queue, rows: 1, at: T0, columns: 5);

        var batch = new List<PendingRequest>();
        queue.TakeBatch(T0, batch);
        Assert.Equal(2, batch.Count);
    }

    [Fact]
    public void Cancelled_requests_are_skipped_and_dropped_without_losing_arrival_order()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, preferred: [2], delayMs: 60_000));
        var first = Add(queue, rows: 1, at: T0);
        var cancelled = Add(queue, rows: 1, at: T0);
        var third = Add(queue, rows: 1, at: T0);
        var fourth = Add(queue, rows: 1, at: T0);
        Assert.True(cancelled.TryAbandon(new OperationCanceledException()));

        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Equal([first, third], batch);
        Assert.Equal(1, queue.Count);
        Assert.True(fourth.IsQueued);
    }

    [Fact]
    public void A_full_queue_refuses_with_its_limit_until_a_queued_request_finishes()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 60_000, maxQueueSize: 2));
        var first = Add(queue, rows: 1, at: T0);
        Add(queue, rows: 1, at: T0);

        var refused = Assert.Throws<InferenceException>(() => queue.Add(Request(rows: 1, at: T0), T0));
        Assert.Equal(InferenceErrorKind.QueueFull, refused.Kind);
        Assert.Equal("model 'm' version 1 already has 2 requests queued (max_queue_size 2); retry later", refused.Message);

        first.TryAbandon(new OperationCanceledException());
        queue.Add(Request(rows: 1, at: T0), T0);
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void The_queue_grows_past_its_first_allocation_up_to_max_queue_size()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 60_000, maxQueueSize: 100));
        for (var i = 0; i < 100; i++)
        {
            Add(queue, rows: 1, at: T0);
        }

        Assert.Equal(100, queue.Count);
        Assert.Throws<InferenceException>(() => queue.Add(Request(rows: 1, at: T0), T0));
    }

    [Fact]
    public void Without_a_dynamic_batcher_the_oldest_request_runs_alone_at_once()
    {
        var queue = Queue(new BatchingPolicy
        {
            Dynamic = false, MaxBatchSize = 8, PreferredBatchSizes = [], MaxQueueDelayTicks = 0, MaxQueueSize = 16, DefaultTimeoutTicks = 0,
        });
        var first = Add(queue, rows: 2, at: T0);
        var second = Add(queue, rows: 1, at: T0);

        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Equal([first], batch);
        batch.Clear();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Equal([second], batch);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Abandoning_all_fails_every_queued_request_with_the_given_error()
    {
        var queue = Queue(Dynamic(maxBatchSize: 8, delayMs: 60_000));
        var requests = new[] { Add(queue, rows: 1, at: T0), Add(queue, rows: 1, at: T0) };
        var unloaded = new InferenceException(InferenceErrorKind.Unavailable, "unloading");

        queue.AbandonAll(unloaded);

        Assert.Equal(0, queue.Count);
        Assert.All(requests, r => Assert.Same(unloaded, r.AsValueTask().AsTask().Exception?.InnerException));
        var batch = new List<PendingRequest>();
        Assert.Equal(0, queue.TakeBatch(T0, batch));
        Assert.Empty(batch);
    }

    private static long Ms(long milliseconds) => milliseconds * Stopwatch.Frequency / 1000;

    private static BatchingPolicy Dynamic(int maxBatchSize, long delayMs, int[]? preferred = null, int maxQueueSize = 64) => new()
    {
        Dynamic = true,
        MaxBatchSize = maxBatchSize,
        PreferredBatchSizes = preferred ?? [],
        MaxQueueDelayTicks = Ms(delayMs),
        MaxQueueSize = maxQueueSize,
        DefaultTimeoutTicks = 0,
    };

    private static BatchQueue Queue(BatchingPolicy policy, bool compareShapes = false) => new(Key, policy, compareShapes);

    private static PendingRequest Add(BatchQueue queue, int rows, long at, long deadline = 0, int columns = 4)
    {
        var request = Request(rows, at, deadline, columns);
        queue.Add(request, at);
        return request;
    }

    private static PendingRequest Request(int rows, long at, long deadline = 0, int columns = 4)
    {
        var request = new InferenceRequest { ModelName = Key.Model };
        request.Inputs.Add(Tensors.Fp32("input", [rows, columns], new float[rows * columns]));
        return new PendingRequest(request, rows, outputSelection: null, deadline, enqueuedAt: at);
    }
}
