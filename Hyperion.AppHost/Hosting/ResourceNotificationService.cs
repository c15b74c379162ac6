namespace Hyperion.AppHost.Hosting;

public enum ResourceState
{
    /// <summary>Declared, not yet asked to start.</summary>
    Pending,
    /// <summary>Waiting for what it WaitFor()s to be healthy.</summary>
    Waiting,
    Starting,
    /// <summary>The process runs; its health check has not passed yet.</summary>
    Running,
    Healthy,
    /// <summary>Was healthy, its health check now fails.</summary>
    Unhealthy,
    /// <summary>Exited unexpectedly; will be started again after a back-off.</summary>
    Restarting,
    /// <summary>Could not be prepared or launched; retried after a back-off.</summary>
    Failed,
    Stopping,
    Stopped,
}

/// <summary>What the dashboard, the console table and tests see of one resource instance.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string Resource,
    string Type,
    ResourceState State,
    IReadOnlyList<string> Urls,
    int? Pid = null,
    int Restarts = 0,
    int? LastExitCode = null,
    DateTimeOffset? StartedAt = null,
    string? Message = null);

/// <summary>
/// Current state of every resource instance, and a way to wait for a state: the counterpart of Aspire's
/// ResourceNotificationService. A name matches an instance ("inference-1") or all of a resource's
/// instances ("inference").
/// </summary>
public sealed class ResourceNotificationService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ResourceSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly List<(string Name, Func<IReadOnlyList<ResourceSnapshot>, bool> Predicate, TaskCompletionSource Done)> _waiters = [];

    /// <summary>Raised after every change, outside the lock.</summary>
    public event Action<ResourceSnapshot>? Changed;

    public IReadOnlyList<ResourceSnapshot> GetSnapshots()
    {
        lock (_gate)
        {
            return _order.Select(name => _snapshots[name]).ToArray();
        }
    }

    public IReadOnlyList<ResourceSnapshot> GetSnapshots(string name)
    {
        lock (_gate)
        {
            return Match(name);
        }
    }

    public Task WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken = default) =>
        WaitForResourceAsync(name, instances => instances.All(i => i.State == ResourceState.Healthy), cancellationToken);

    public Task WaitForResourceAsync(string name, ResourceState state, CancellationToken cancellationToken = default) =>
        WaitForResourceAsync(name, instances => instances.All(i => i.State == state), cancellationToken);

    /// <summary>Completes once the predicate holds for the named instances (never for an unknown name).</summary>
    public async Task WaitForResourceAsync(string name, Func<IReadOnlyList<ResourceSnapshot>, bool> predicate, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var current = Match(name);
            if (current.Count > 0 && predicate(current))
            {
                return;
            }
            _waiters.Add((name, predicate, done));
        }
        try
        {
            await done.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == done);
            }
        }
    }

    internal void Publish(ResourceSnapshot snapshot)
    {
        lock (_gate)
        {
            SetLocked(snapshot);
        }
        Changed?.Invoke(snapshot);
    }

    /// <summary>Applies a change atomically; a change that returns the snapshot unchanged publishes nothing.</summary>
    internal void Update(string instance, Func<ResourceSnapshot, ResourceSnapshot> change)
    {
        ResourceSnapshot updated;
        lock (_gate)
        {
            var current = _snapshots[instance];
            updated = change(current);
            if (ReferenceEquals(updated, current))
            {
                return;
            }
            SetLocked(updated);
        }
        Changed?.Invoke(updated);
    }

    private void SetLocked(ResourceSnapshot snapshot)
    {
        if (!_snapshots.ContainsKey(snapshot.Name))
        {
            _order.Add(snapshot.Name);
        }
        _snapshots[snapshot.Name] = snapshot;
        foreach (var waiter in _waiters)
        {
            var matched = Match(waiter.Name);
            if (matched.Count > 0 && waiter.Predicate(matched))
            {
                waiter.Done.TrySetResult();
            }
        }
    }

    private List<ResourceSnapshot> Match(string name)
    {
        if (_snapshots.TryGetValue(name, out var exact))
        {
            return [exact];
        }
        var matched = new List<ResourceSnapshot>();
        foreach (var instance in _order)
        {
            if (_snapshots[instance].Resource == name)
            {
                matched.Add(_snapshots[instance]);
            }
        }
        return matched;
    }
}
