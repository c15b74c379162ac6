using System.Diagnostics;
using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Batching;

/// <summary>How one model version's queue forms batches, resolved from its config and the server defaults.</summary>
internal sealed record BatchingPolicy
{
    /// <summary>False: every request runs on its own, in arrival order.</summary>
    public required bool Dynamic { get; init; }

    /// <summary>Rows per batch; the model's max_batch_size (at least 1).</summary>
    public required int MaxBatchSize { get; init; }

    /// <summary>Ascending.</summary>
    public required int[] PreferredBatchSizes { get; init; }

    public required long MaxQueueDelayTicks { get; init; }

    public required int MaxQueueSize { get; init; }

    /// <summary>Stopwatch ticks a queued request may wait when it brings no timeout of its own; 0 for no limit.</summary>
    public required long DefaultTimeoutTicks { get; init; }

    /// <summary>
    /// Without a dynamic batcher: requests of a model whose recent runs took at most this long run on the thread that
    /// received them when an instance is free and nothing waits, instead of waking the instance's worker; 0: never.
    /// </summary>
    public long InlineMaxTicks { get; init; }

    public static BatchingPolicy From(ModelConfig config, int defaultMaxQueueSize, long inlineMaxMicroseconds)
    {
        var batching = config.MaxBatchSize > 0 ? config.DynamicBatching : null;
        int[] preferred = [.. batching?.PreferredBatchSize ?? []];
        Array.Sort(preferred);
        return new BatchingPolicy
        {
            Dynamic = batching is not null,
            MaxBatchSize = Math.Max(config.MaxBatchSize, 1),
            PreferredBatchSizes = preferred,
            MaxQueueDelayTicks = MicrosecondsToTicks(batching?.MaxQueueDelayMicroseconds ?? 0),
            MaxQueueSize = batching is { MaxQueueSize: > 0 } ? batching.MaxQueueSize : defaultMaxQueueSize,
            DefaultTimeoutTicks = MicrosecondsToTicks(batching?.DefaultTimeoutMicroseconds ?? 0),
            InlineMaxTicks = batching is null ? MicrosecondsToTicks(inlineMaxMicroseconds) : 0,
        };
    }

    public static long MicrosecondsToTicks(long microseconds) => microseconds * Stopwatch.Frequency / 1_000_000;

    public bool IsPreferred(int rows)
    {
        foreach (var size in PreferredBatchSizes)
        {
            if (size == rows)
            {
                return true;
            }
        }
        return false;
    }
}
