namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Wakes every idle delivery worker at once. A worker takes <see cref="Current"/> before it looks for work and waits
/// on that task, so a pulse that comes while it is looking is not missed.
/// </summary>
internal sealed class WakeSignal
{
    private TaskCompletionSource _current = NewSource();

    public Task Current => Volatile.Read(ref _current).Task;

    public void Pulse() => Interlocked.Exchange(ref _current, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
