using System.Diagnostics;
using Hyperion.Contracts.Inference;
using Hyperion.Inference.Repository;

namespace Hyperion.Inference.Batching;

/// <summary>
/// The requests one model version has queued, in arrival order, and the choice of the next batch, with Triton's
/// dynamic batcher semantics: a batch is cut at once when it reaches max_batch_size or a preferred size (the
/// largest reachable), otherwise when the oldest request has waited max_queue_delay (at once when that is 0).
/// Requests whose non-batch dimensions differ from the oldest one's are left for a later batch, so they are
/// never concatenated; requests past their deadline time out here, before they run. Without a dynamic batcher
/// the next batch is the oldest request alone.
/// <para>
/// No lock and no clock of its own: <see cref="BatchScheduler"/> calls every method under its lock and passes the
/// time in (<see cref="Stopwatch.GetTimestamp"/> ticks), so tests drive it as a plain object.
/// </para>
/// </summary>
internal sealed class BatchQueue
{
    private readonly ModelVersionKey _key;
    private readonly BatchingPolicy _policy;
    private readonly bool _compareShapes;
    private readonly int[] _selected;
    private PendingRequest[] _requests;
    private int _count;

    /// <param name="compareShapes">True when requests may differ in a non-batch dimension (<see cref="ModelSignature.HasVariableInputDims"/>).</param>
    public BatchQueue(ModelVersionKey key, BatchingPolicy policy, bool compareShapes)
    {
        _key = key;
        _policy = policy;
        _compareShapes = compareShapes;
        _selected = new int[policy.MaxBatchSize];
        _requests = new PendingRequest[Math.Min(policy.MaxQueueSize, 64)];
    }

    /// <summary>Requests still queued or not yet dropped; read without the lock by the queue-depth gauge.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Queues the request last; throws QueueFull when max_queue_size requests still wait after dropping finished ones.</summary>
    public void Add(PendingRequest request, long now)
    {
        if (_count >= _policy.MaxQueueSize)
        {
            RemoveFinished(now);
            if (_count >= _policy.MaxQueueSize)
            {
                throw new InferenceException(
                    InferenceErrorKind.QueueFull,
                    $"model '{_key.Model}' version {_key.Version} already has {_count} requests queued (max_queue_size {_policy.MaxQueueSize}); retry later");
            }
        }
        if (_count == _requests.Length)
        {
            Array.Resize(ref _requests, Math.Min(_requests.Length * 2, _policy.MaxQueueSize));
        }
        _requests[_count++] = request;
    }

    /// <summary>
    /// Claims the next batch into <paramref name="batch"/> and drops it (and anything finished) from the queue, or
    /// returns how many ticks to wait for the batch to fill: until the oldest request's max_queue_delay is up, or
    /// sooner when a request in the batch reaches its deadline. Returns 0 with nothing taken when every candidate was
    /// cancelled meanwhile (ask again) or the queue is empty.
    /// </summary>
    public long TakeBatch(long now, List<PendingRequest> batch)
    {
        if (_count == 0)
        {
            return 0;
        }
        var waitTicks = _policy.Dynamic ? FormBatch(now, batch) : TakeOldest(batch);
        if (batch.Count > 0)
        {
            RemoveFinished(now);
        }
        return waitTicks;
    }

    /// <summary>Drops requests that were taken, cancelled or timed out, keeping the rest in arrival order; times out those past their deadline.</summary>
    public void RemoveFinished(long now)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var request = _requests[i];
            if (request.IsQueued && request.Deadline != 0 && now >= request.Deadline)
            {
                var waited = Stopwatch.GetElapsedTime(request.EnqueuedAt, now);
                request.TryAbandon(new InferenceException(
                    InferenceErrorKind.Timeout,
                    $"request timed out after {waited.TotalMilliseconds:F0} ms in the queue of model '{_key.Model}' version {_key.Version}"));
            }
            if (request.IsQueued)
            {
                _requests[kept++] = request;
            }
        }
        Array.Clear(_requests, kept, _count - kept);
        _count = kept;
    }

    /// <summary>Fails every queued request with <paramref name="error"/> and empties the queue (the version is unloading).</summary>
    public void AbandonAll(Exception error)
    {
        for (var i = 0; i < _count; i++)
        {
            _requests[i].TryAbandon(error);
        }
        Array.Clear(_requests, 0, _count);
        _count = 0;
    }

    private long TakeOldest(List<PendingRequest> batch)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_requests[i].TryTake())
            {
                batch.Add(_requests[i]);
                break;
            }
        }
        return 0;
    }

    private long FormBatch(long now, List<PendingRequest> batch)
    {
        var oldest = _requests[0];
        var rows = 0;
        var selected = 0;
        var preferredSelected = 0;
        var full = false;
        var nearestDeadline = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            var request = _requests[i];
            if (!request.IsQueued || (i > 0 && _compareShapes && !SameNonBatchShape(oldest, request)))
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
            var request = _requests[_selected[k]];
            if (request.TryTake())
            {
                batch.Add(request);
            }
        }
        return 0;
    }

    private static bool SameNonBatchShape(PendingRequest a, PendingRequest b)
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
}
