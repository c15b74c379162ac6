using System.Collections.Concurrent;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway.Statistics;

/// <summary>
/// Per model, version and arm: requests, errors, a latency histogram and (shadow) agreement with stable, counted in
/// memory on the request path and added to Redis about once a second by <see cref="ArmStatisticsFlusher"/>
/// (layout: <see cref="ArmStatisticsKeys"/>).
/// </summary>
internal sealed class ArmStatistics
{
    private static readonly double[] s_bounds = [.. ArmStatisticsKeys.LatencyBucketsMs];

    private readonly ConcurrentDictionary<(string Model, long Version, string Arm), ArmCounters> _arms = new();

    public void Record(VersionTarget target, string arm, bool error, double milliseconds) =>
        Counters(target, arm).Add(error, milliseconds);

    public void RecordComparison(VersionTarget shadow, bool agreed, double maxAbsDiff) =>
        Counters(shadow, ArmStatisticsKeys.Shadow).AddComparison(agreed, maxAbsDiff);

    public IEnumerable<KeyValuePair<(string Model, long Version, string Arm), ArmCounters>> All => _arms;

    private ArmCounters Counters(VersionTarget target, string arm) =>
        _arms.GetOrAdd((target.Model, target.Version, arm), static _ => new ArmCounters());

    internal static int BucketOf(double milliseconds)
    {
        var index = Array.BinarySearch(s_bounds, milliseconds);
        return index >= 0 ? index : ~index; // == s_bounds.Length: the overflow bucket
    }
}

/// <summary>Counts since the last flush; a lock, since a request touches it once and the flusher once a second.</summary>
internal sealed class ArmCounters
{
    private readonly Lock _gate = new();
    private ArmDelta _pending = ArmDelta.Create();

    public void Add(bool error, double milliseconds)
    {
        var bucket = ArmStatistics.BucketOf(milliseconds);
        lock (_gate)
        {
            _pending.Requests++;
            if (error)
            {
                _pending.Errors++;
            }
            _pending.LatencySumMs += milliseconds;
            _pending.Buckets[bucket]++;
        }
    }

    public void AddComparison(bool agreed, double maxAbsDiff)
    {
        lock (_gate)
        {
            _pending.Compared++;
            if (agreed)
            {
                _pending.Agreed++;
            }
            _pending.AbsDiffSum += maxAbsDiff;
            _pending.AbsDiffMax = Math.Max(_pending.AbsDiffMax, maxAbsDiff);
        }
    }

    /// <summary>Takes what was counted since the last call; null when nothing was.</summary>
    public ArmDelta? Drain()
    {
        lock (_gate)
        {
            if (_pending.Requests == 0 && _pending.Compared == 0)
            {
                return null;
            }
            var taken = _pending;
            _pending = ArmDelta.Create();
            return taken;
        }
    }

    /// <summary>Puts back what could not be written (Redis down), to be written with the next flush.</summary>
    public void Restore(ArmDelta delta)
    {
        lock (_gate)
        {
            _pending.Requests += delta.Requests;
            _pending.Errors += delta.Errors;
            _pending.LatencySumMs += delta.LatencySumMs;
            for (var i = 0; i < delta.Buckets.Length; i++)
            {
                _pending.Buckets[i] += delta.Buckets[i];
            }
            _pending.Compared += delta.Compared;
            _pending.Agreed += delta.Agreed;
            _pending.AbsDiffSum += delta.AbsDiffSum;
            _pending.AbsDiffMax = Math.Max(_pending.AbsDiffMax, delta.AbsDiffMax);
        }
    }
}

internal sealed class ArmDelta
{
    public long Requests;
    public long Errors;
    public double LatencySumMs;
    public required long[] Buckets;
    public long Compared;
    public long Agreed;
    public double AbsDiffSum;
    public double AbsDiffMax = -1;

    public static ArmDelta Create() => new() { Buckets = new long[ArmStatisticsKeys.LatencyBucketsMs.Count + 1] };
}
