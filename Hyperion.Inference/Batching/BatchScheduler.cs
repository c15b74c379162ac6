using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Backends;
using Hyperion.Inference.Metrics;
using Hyperion.Inference.Repository;
using Microsoft.Extensions.Logging;

namespace Hyperion.Inference.Batching;

/// <summary>
/// The execution instances of one model version and the threads that run them. Each instance has a worker thread
/// that, whenever it is free, takes the next batch from the version's <see cref="BatchQueue"/> (which decides what
/// the batch is, with Triton's dynamic batcher semantics) and runs it. Without a dynamic batcher every request runs
/// alone, one per free instance; a fast model's request runs on the thread that received it when an instance is
/// free and nothing waits (<see cref="BatchingPolicy.InlineMaxTicks"/>), the rest on the instances' workers in
/// arrival order.
/// </summary>
/// <remarks>
/// Locking rules. One lock, <c>_gate</c>, and one condition on it (<see cref="Monitor.Wait(object)"/>): workers,
/// callers waiting for an instance and <see cref="Dispose"/> all wait there, so whoever changes what one of them
/// waits for must pulse. Every field below is read and written under <c>_gate</c> unless it says otherwise.
/// <list type="table">
/// <item><term><c>_queue</c></term><description>
///   Added to by callers (<see cref="Submit"/> → Enqueue); batches taken and finished requests dropped by workers
///   (TakeBatch); emptied by <see cref="Dispose"/>. Its <c>Count</c> is also read without the lock by
///   <see cref="QueueDepth"/>, a gauge for which a stale value is fine. Cancellation and timeouts end a request
///   without the lock (<see cref="PendingRequest"/>'s compare-and-swap); the queue drops it on its next pass.
/// </description></item>
/// <item><term><c>_busy[i]</c></term><description>
///   True while instance i runs. Set by whoever claims it: worker i when it takes a batch, or an inline caller
///   that found it free; cleared by the same party when the run ends. So <c>_executors[i]</c> and
///   <c>_instances[i]</c> are used by one thread at a time, outside the lock.
/// </description></item>
/// <item><term><c>_idleWorkers</c></term><description>
///   Workers inside a wait (Wait, or WaitForBatchToFill's yield); each worker counts itself in and out. Lets a
///   change skip the pulse when no worker could take it.
/// </description></item>
/// <item><term><c>_inlineRuns</c></term><description>
///   Inline callers between claiming an instance and releasing it (TryRunInline). Dispose waits for it to reach 0
///   before it releases the instances.
/// </description></item>
/// <item><term><c>_inlineWaiters</c></term><description>Inline callers waiting on <c>_gate</c> for a free instance.</description></item>
/// <item><term><c>_stopping</c></term><description>Set once, by Dispose; after it nothing is queued or run inline and the workers exit.</description></item>
/// <item><term><c>_averageRunTicks</c></term><description>
///   No lock: written (<see cref="Volatile"/>) by whoever ran a request alone, worker or inline caller, and read by
///   Submit. Two writers racing lose a sample of a moving average, which is harmless.
/// </description></item>
/// <item><term>the rest</term><description>Set in the constructor and never changed.</description></item>
/// </list>
/// Who is woken when:
/// <list type="bullet">
/// <item>A request is queued and a worker is idle: one worker (Pulse). When inline runs or waiters exist, all of
///   them (PulseAll): a single pulse could land on an inline waiter, or on the worker of an instance an inline run
///   holds, who would go back to waiting and the request would sit until the next event.</item>
/// <item>A worker takes a batch and requests remain with another worker idle: one more worker (Pulse), so a burst
///   wakes the workers in a chain instead of all at once.</item>
/// <item>A worker finishes a batch and inline callers wait for an instance: all (PulseAll). It takes its own next
///   batch itself, so nobody else needs waking for the queue.</item>
/// <item>An inline run ends: all, but only when someone can act (inline waiters, queued work with an idle worker
///   whose instance may be this one, or Dispose waiting); a worker woken for nothing costs a wake-up per request.</item>
/// <item>Dispose: all (workers exit, inline waiters give up and see the version unloading).</item>
/// <item>A worker waiting for a batch to fill wakes itself: a timed Monitor.Wait, then yields of the lock for the
///   last millisecond (WaitForBatchToFill).</item>
/// </list>
/// </remarks>
internal sealed class BatchScheduler : IDisposable
{
    private readonly object _gate = new();
    private readonly ModelVersionKey _key;
    private readonly BatchingPolicy _policy;
    private readonly IModelInstance[] _instances;
    private readonly BatchExecutor[] _executors;
    private readonly bool[] _busy;
    private readonly Thread[] _workers;
    private readonly BatchQueue _queue;
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
        _policy = policy;
        _instances = instances;
        _queue = new BatchQueue(key, policy, signature.HasVariableInputDims);
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

    public int QueueDepth => _queue.Count;

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
                if (_stopping || _queue.Count > 0)
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
                if (_inlineWaiters > 0 || (_queue.Count > 0 && _idleWorkers > 0) || _stopping)
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
            _queue.Add(request, Stopwatch.GetTimestamp());
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
            _queue.AbandonAll(new InferenceException(
                InferenceErrorKind.Unavailable, $"model '{_key.Model}' version {_key.Version} was unloaded before the request ran"));
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
                _queue.RemoveFinished(now);
                if (_queue.Count == 0 || _busy[instance])
                {
                    Wait(Timeout.Infinite);
                    continue;
                }
                var waitTicks = _queue.TakeBatch(now, batch);
                if (batch.Count > 0)
                {
                    _busy[instance] = true;
                    if (_queue.Count > 0 && _idleWorkers > 0)
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
}
