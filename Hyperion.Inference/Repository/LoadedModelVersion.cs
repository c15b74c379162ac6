using Hyperion.Contracts.Models;
using Hyperion.Inference.Backends;
using Hyperion.Inference.Batching;

namespace Hyperion.Inference.Repository;

/// <summary>
/// A model version that loaded: its effective config, its queue and instances. Requests hold a lease while
/// they use it; once retired (unloaded or replaced) it takes no new leases and is disposed when the last
/// lease ends, so in-flight requests finish on the sessions they started on.
/// </summary>
internal sealed class LoadedModelVersion
{
    // One reference belongs to the repository until Retire; each lease adds one.
    private int _references = 1;
    private int _retired;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="placement">Where the backend opened the instances; null when they run where the config asks.</param>
    public LoadedModelVersion(
        ModelVersionKey key, long version, ModelConfig config, ModelSignature signature, BatchScheduler scheduler, FileStamp stamp,
        ModelPlacement? placement = null)
    {
        Key = key;
        Version = version;
        Config = config;
        Signature = signature;
        Scheduler = scheduler;
        Stamp = stamp;
        Placement = placement ?? ModelPlacement.AsConfigured(config);
    }

    public ModelVersionKey Key { get; }

    public long Version { get; }

    public ModelConfig Config { get; }

    public ModelSignature Signature { get; }

    public BatchScheduler Scheduler { get; }

    /// <summary>What the version was loaded from; a reload replaces the version when this changed.</summary>
    public FileStamp Stamp { get; }

    /// <summary>Where the instances run; its reason is the version's status reason while it serves.</summary>
    public ModelPlacement Placement { get; }

    /// <summary>Completes when the version has been retired and its last request finished.</summary>
    public Task Released => _released.Task;

    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }
            current = seen;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            // Joining the workers and freeing the sessions should not hold up the last request's response.
            _ = Task.Run(() =>
            {
                Scheduler.Dispose();
                _released.TrySetResult();
            });
        }
    }

    /// <summary>Stops new requests; the sessions are released after the in-flight ones finish.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }
}

/// <summary>The files a version was loaded from: a changed model file or config means a reload replaces it.</summary>
internal readonly record struct FileStamp(long ModelLength, DateTime ModelWriteTimeUtc, string ConfigFingerprint);
