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
/// they are never concatenated. Without a dynamic batcher every request runs alone, one per free instance; a fast
/// model's request runs on the thread that received it when an instance is free and nothing waits
/// (<see cref="BatchingPolicy.InlineMaxTicks"/>), the rest on the instances' workers in arrival order.
/// </summary>
internal sealed class BatchScheduler : IDisposable
{
    private readonly object _gate = new();
    private readonly ModelVersionKey _key;
    private readonly ModelSignature _signature;
    private readonly BatchingPolicy _policy;
    private readonly IModelInstance[] _instances;
    private readonly BatchExecutor[] _executors;
    private readonly bool[] _busy;
    private readonly Thread[] _workers;
    private readonly int[] _selected;
    private PendingRequest[] _queue;
    private int _count;
    private int _idleWorkers;
    private int _inlineRuns;
    private int _inlineWaiters;
    private bool _stopping;
    private long _averageRunTicks = -1;

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
        _executors = new BatchExecutor[instances.Length];
        _busy = new bool[instances.Length];
        _workers = new Thread[instances.Length];
        for (var i = 0; i < instances.Length; i++)
        {
            _executors[i] = new BatchExecutor(key, signature, instances[i], metrics, logger);
            var instance = i;
            _workers[i] = new Thread(() => RunWorker(instance))
            {
                IsBackground = true,
                Name = $"hyperion {key.Model}/{key.Version} #{i}",
            };
            _workers[i].Start();
        }
    }

    public int QueueDepth => Volatile.Read(ref _count);

    public BatchingPolicy Policy => _policy;

    /// <summary>
    /// Runs the request now on this thread when the policy allows it (see <see cref="BatchingPolicy.InlineMaxTicks"/>),
    /// otherwise queues it; throws QueueFull when max_queue_size requests already wait.
    /// </summary>
    public void Submit(PendingRequest request)
    {
        var average = Volatile.Read(ref _averageRunTicks);
        if (_policy.InlineMaxTicks > 0 && average >= 0 && average <= _policy.InlineMaxTicks && TryRunInline(request))
        {
            return;
        }
        Enqueue(request);
    }

    private bool TryRunInline(PendingRequest request)
    {
        int instance;
        lock (_gate)
        {
            while (true)
            {
                // Anything queued was there first: it keeps its turn on the workers.
                if (_stopping || _count > 0)
                {
                    return false;
                }
                instance = Array.IndexOf(_busy, false);
                if (instance >= 0)
                {
                    break;
                }
                // Every instance is running this fast model: waiting for one costs less than a hand-off to a worker.
                _inlineWaiters++;
                Monitor.Wait(_gate);
                _inlineWaiters--;
            }
            _busy[instance] = true;
            _inlineRuns++;
        }
        try
        {
            if (request.TryTake())
            {
                Run(instance, request);
            }
        }
        finally
        {
            lock (_gate)
            {
                _busy[instance] = false;
                _inlineRuns--;
                // Wake only who can act: callers waiting for an instance, a worker with queued work (its instance may
                // be this one), Dispose. An idle worker woken for nothing would cost a wake-up per request.
                if (_inlineWaiters > 0 || (_count > 0 && _idleWorkers > 0) || _stopping)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }
        return true;
    }

    private void Enqueue(PendingRequest request)
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
                // With inline runs about, the one woken could be a caller waiting for an instance, or the worker of
                // an instance an inline run holds: wake them all.
                if (_inlineRuns > 0 || _inlineWaiters > 0)
                {
                    Monitor.PulseAll(_gate);
                }
                else
                {
                    Monitor.Pulse(_gate);
                }
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
            while (_inlineRuns > 0)
            {
                Monitor.Wait(_gate);
            }
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

    private void RunWorker(int instance)
    {
        var batch = new List<PendingRequest>(_policy.MaxBatchSize);
        while (TakeBatch(instance, batch))
        {
            try
            {
                Run(instance, batch);
            }
            finally
            {
                batch.Clear();
                lock (_gate)
                {
                    _busy[instance] = false;
                    if (_inlineWaiters > 0)
                    {
                        Monitor.PulseAll(_gate);
                    }
                }
            }
        }
    }

    private void Run(int instance, PendingRequest request)
    {
        var started = Stopwatch.GetTimestamp();
        _executors[instance].ExecuteOne(request);
        Observe(Stopwatch.GetTimestamp() - started);
    }

    private void Run(int instance, List<PendingRequest> batch)
    {
        var started = Stopwatch.GetTimestamp();
        _executors[instance].Execute(batch);
        if (batch.Count == 1)
        {
            Observe(Stopwatch.GetTimestamp() - started);
        }
    }

    /// <summary>A moving average of single-request runs: whether the model is fast enough to run inline.</summary>
    private void Observe(long ticks)
    {
        if (_policy.InlineMaxTicks <= 0)
        {
            return;
        }
        var average = Volatile.Read(ref _averageRunTicks);
        Volatile.Write(ref _averageRunTicks, average < 0 ? ticks : average + ((ticks - average) / 8));
    }

    private bool TakeBatch(int instance, List<PendingRequest> batch)
    {
        lock (_gate)
        {
            while (!_stopping)
            {
                var now = Stopwatch.GetTimestamp();
                Compact(now);
                if (_count == 0 || _busy[instance])
                {
                    Wait(Timeout.Infinite);
                    continue;
                }
                var waitTicks = _policy.Dynamic ? FormBatch(now, batch) : TakeOldest(batch);
                if (batch.Count > 0)
                {
                    _busy[instance] = true;
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
