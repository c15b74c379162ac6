using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Backends;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Repository;
using Microsoft.Extensions.Logging;

namespace Hyperion.Inference.Batching;

/// <summary>
/// The queue of one model version and its execution instances, with Triton's dynamic batcher semantics.
/// Each instance has a worker thread that, whenever it is free, forms the next batch from the queue in
/// arrival order: it cuts at once when the batch reaches max_batch_size or a preferred size (the largest
/// reachable), and otherwise when the oldest request has waited max_queue_delay (at once when that is 0).
/// Requests whose non-batch dimensions differ from the oldest request's are left for a later batch, so
/// they are never concatenated. Without a dynamic batcher every request runs alone, one per free instance.
/// </summary>
internal sealed class BatchScheduler : IDisposable
{
    private readonly object _gate = new();
    private readonly ModelVersionKey _key;
    private readonly ModelSignature _signature;
    private readonly BatchingPolicy _policy;
    private readonly IModelInstance[] _instances;
    private readonly Thread[] _workers;
    private readonly int[] _selected;
    private PendingRequest[] _queue;
    private int _count;
    private int _idleWorkers;
    private bool _stopping;

    public BatchScheduler(
        ModelVersionKey key, ModelSignature signature, BatchingPolicy policy, IModelInstance[] instances,
        InferenceMetrics metrics, ILogger logger)
    {
        _key = key;
        _signature = signature;
        _policy = policy;
        _instances = instances;
        _selected = new int[policy.MaxBatchSize];
        _queue = new PendingRequest[Math.Min(policy.MaxQueueSize, 64)];
        _workers = new Thread[instances.Length];
        for (var i = 0; i < instances.Length; i++)
        {
            var executor = new BatchExecutor(key, signature, instances[i], metrics, logger);
            _workers[i] = new Thread(() => RunWorker(executor))
            {
                IsBackground = true,
                Name = $"hyperion {key.Model}/{key.Version} #{i}",
            };
            _workers[i].Start();
        }
    }

    public int QueueDepth => Volatile.Read(ref _count);

    public BatchingPolicy Policy => _policy;

    /// <summary>Queues the request; throws QueueFull when max_queue_size requests already wait.</summary>
    public void Enqueue(PendingRequest request)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{_key.Model}' version {_key.Version} is unloading");
            }
            if (_count >= _policy.MaxQueueSize)
            {
                Compact(Stopwatch.GetTimestamp());
                if (_count >= _policy.MaxQueueSize)
                {
                    throw new InferenceException(
                        InferenceErrorKind.QueueFull,
                        $"model '{_key.Model}' version {_key.Version} already has {_count} requests queued (max_queue_size {_policy.MaxQueueSize}); retry later");
                }
            }
            if (_count == _queue.Length)
            {
                Array.Resize(ref _queue, Math.Min(_queue.Length * 2, _policy.MaxQueueSize));
            }
            _queue[_count++] = request;
            if (_idleWorkers > 0)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Stops the workers and releases the instances; requests still queued fail as unavailable.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }
            _stopping = true;
            var unloaded = new InferenceException(
                InferenceErrorKind.Unavailable, $"model '{_key.Model}' version {_key.Version} was unloaded before the request ran");
            for (var i = 0; i < _count; i++)
            {
                _queue[i].TryAbandon(unloaded);
                _queue[i] = null!;
            }
            _count = 0;
            Monitor.PulseAll(_gate);
        }
        foreach (var worker in _workers)
        {
            if (worker != Thread.CurrentThread)
            {
                worker.Join();
            }
        }
        foreach (var instance in _instances)
        {
            instance.Dispose();
        }
    }

    private void RunWorker(BatchExecutor executor)
    {
        var batch = new List<PendingRequest>(_policy.MaxBatchSize);
        while (TakeBatch(batch))
        {
            executor.Execute(batch);
            batch.Clear();
        }
    }

    private bool TakeBatch(List<PendingRequest> batch)
    {
        lock (_gate)
        {
            while (!_stopping)
            {
                var now = Stopwatch.GetTimestamp();
                Compact(now);
                if (_count == 0)
                {
                    Wait(Timeout.Infinite);
                    continue;
                }
                var waitTicks = _policy.Dynamic ? FormBatch(now, batch) : TakeOldest(batch);
                if (batch.Count > 0)
                {
                    Compact(now);
                    if (_count > 0 && _idleWorkers > 0)
                    {
                        Monitor.Pulse(_gate);
                    }
                    return true;
                }
                if (waitTicks > 0)
                {
                    WaitForBatchToFill(waitTicks);
                }
            }
            return false;
        }
    }

    /// <summary>
    /// Monitor.Wait only takes whole milliseconds and the OS rounds each sleep up further, so a 200 µs
    /// max_queue_delay would become well over a millisecond. Sleep for all but the last millisecond,
    /// then yield the lock (letting requests arrive) until the deadline: the delay is kept to microseconds.
    /// </summary>
    private void WaitForBatchToFill(long waitTicks)
    {
        var sleepMilliseconds = waitTicks * 1000 / Stopwatch.Frequency - 1;
        if (sleepMilliseconds >= 1)
        {
            Wait((int)Math.Min(int.MaxValue, sleepMilliseconds));
            return;
        }
        _idleWorkers++;
        Monitor.Exit(_gate);
        try
        {
            Thread.Yield();
        }
        finally
        {
            Monitor.Enter(_gate);
            _idleWorkers--;
        }
    }

    private void Wait(int milliseconds)
    {
        _idleWorkers++;
        Monitor.Wait(_gate, milliseconds);
        _idleWorkers--;
    }

    private long TakeOldest(List<PendingRequest> batch)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_queue[i].TryTake())
            {
                batch.Add(_queue[i]);
                break;
            }
        }
        return 0;
    }

    /// <summary>Takes the next batch into <paramref name="batch"/>, or returns how long to wait for it to fill.</summary>
    private long FormBatch(long now, List<PendingRequest> batch)
    {
        var oldest = _queue[0];
        var rows = 0;
        var selected = 0;
        var preferredSelected = 0;
        var full = false;
        var nearestDeadline = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            var request = _queue[i];
            if (!request.IsQueued || (i > 0 && _signature.HasVariableInputDims && !SameNonBatchShape(oldest, request)))
            {
                continue;
            }
            if (rows + request.Rows > _policy.MaxBatchSize)
            {
                full = true;
                break;
            }
            rows += request.Rows;
            _selected[selected++] = i;
            if (request.Deadline != 0 && request.Deadline < nearestDeadline)
            {
                nearestDeadline = request.Deadline;
            }
            if (_policy.IsPreferred(rows))
            {
                preferredSelected = selected;
            }
            if (rows == _policy.MaxBatchSize)
            {
                full = true;
                break;
            }
        }

        int take;
        if (full)
        {
            take = selected;
        }
        else if (preferredSelected > 0)
        {
            take = preferredSelected;
        }
        else if (now - oldest.EnqueuedAt >= _policy.MaxQueueDelayTicks)
        {
            take = selected;
        }
        else
        {
            var wait = oldest.EnqueuedAt + _policy.MaxQueueDelayTicks - now;
            return nearestDeadline == long.MaxValue ? wait : Math.Max(1, Math.Min(wait, nearestDeadline - now));
        }
        for (var k = 0; k < take; k++)
        {
            var request = _queue[_selected[k]];
            if (request.TryTake())
            {
                batch.Add(request);
            }
        }
        return 0;
    }

    private bool SameNonBatchShape(PendingRequest a, PendingRequest b)
    {
        var left = a.Request.Inputs;
        var right = b.Request.Inputs;
        for (var i = 0; i < left.Count; i++)
        {
            if (!left[i].Shape.AsSpan(1).SequenceEqual(right[i].Shape.AsSpan(1)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Drops requests that were taken, cancelled or timed out, keeping the rest in arrival order.</summary>
    private void Compact(long now)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var request = _queue[i];
            if (request.IsQueued && request.Deadline != 0 && now >= request.Deadline)
            {
                var waited = Stopwatch.GetElapsedTime(request.EnqueuedAt, now);
                request.TryAbandon(new InferenceException(
                    InferenceErrorKind.Timeout,
                    $"request timed out after {waited.TotalMilliseconds:F0} ms in the queue of model '{_key.Model}' version {_key.Version}"));
            }
            if (request.IsQueued)
            {
                _queue[kept++] = request;
            }
        }
        Array.Clear(_queue, kept, _count - kept);
        _count = kept;
    }
}
