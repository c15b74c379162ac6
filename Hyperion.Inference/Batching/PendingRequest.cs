using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Batching;

/// <summary>
/// A validated request waiting in a version's queue, and the awaitable its caller waits on. Exactly one of
/// the batcher (which takes it to run), the caller's cancellation and the timeout check wins it.
/// </summary>
/// <param name="enqueuedAt">When it was queued, in <see cref="Stopwatch.GetTimestamp"/> ticks (tests pass their own clock).</param>
internal sealed class PendingRequest(InferenceRequest request, int rows, int[]? outputSelection, long deadline, long enqueuedAt)
    : IValueTaskSource<InferenceResponse>
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Done = 2;

    private ManualResetValueTaskSourceCore<InferenceResponse> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    public PendingRequest(InferenceRequest request, int rows, int[]? outputSelection, long deadline)
        : this(request, rows, outputSelection, deadline, Stopwatch.GetTimestamp())
    {
    }

    /// <summary>Inputs already in the config's input order (the dispatcher sorts them).</summary>
    public InferenceRequest Request { get; } = request;

    /// <summary>Size of the batch dimension (1 for models without one).</summary>
    public int Rows { get; } = rows;

    /// <summary>Indexes of the config outputs to return, in the order asked; null for all of them.</summary>
    public int[]? OutputSelection { get; } = outputSelection;

    /// <summary>Stopwatch timestamp after which it must not run; 0 for none.</summary>
    public long Deadline { get; } = deadline;

    public long EnqueuedAt { get; } = enqueuedAt;

    public bool IsQueued => Volatile.Read(ref _state) == Queued;

    public ValueTask<InferenceResponse> AsValueTask() => new(this, _core.Version);

    /// <summary>Claims it for a batch; false when it was cancelled or timed out first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Running, Queued) == Queued;

    /// <summary>Ends it before it runs (cancellation, timeout, shutdown); false when the batcher took it first.</summary>
    public bool TryAbandon(Exception error)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Queued) != Queued)
        {
            return false;
        }
        _core.SetException(error);
        return true;
    }

    public void Complete(InferenceResponse response)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Running) == Running)
        {
            _core.SetResult(response);
        }
        else
        {
            response.Dispose();
        }
    }

    public void Fail(Exception error)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Running) == Running)
        {
            _core.SetException(error);
        }
    }

    InferenceResponse IValueTaskSource<InferenceResponse>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<InferenceResponse>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<InferenceResponse>.OnCompleted(
        Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
