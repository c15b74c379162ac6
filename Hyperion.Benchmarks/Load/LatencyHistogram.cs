using System.Diagnostics;
using System.Numerics;

namespace Hyperion.Benchmarks.Load;

/// <summary>
/// Nanosecond latencies in HdrHistogram-style buckets: exact below 2,048 ns, then 1,024 buckets
/// per power of two (under 0.1% error) up to about 36 minutes. Fixed size, so recording never
/// allocates and every sample counts, unlike a sampled reservoir.
/// </summary>
public sealed class LatencyHistogram
{
    private const int ExactBuckets = 2048;
    private const int SubBuckets = 1024;
    private const int MaxShift = 30;

    private readonly long[] _counts = new long[ExactBuckets + (MaxShift * SubBuckets)];

    public long Count { get; private set; }

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void RecordSince(long startTimestamp) =>
        Record((long)((Stopwatch.GetTimestamp() - startTimestamp) * (1_000_000_000.0 / Stopwatch.Frequency)));

    public double PercentileMilliseconds(double percent) => Percentile(percent) / 1_000_000.0;

    public double MaxMilliseconds => Max / 1_000_000.0;

    public long Max { get; private set; }

    public void Record(long nanoseconds)
    {
        var value = Math.Max(0, nanoseconds);
        _counts[IndexOf(value)]++;
        Count++;
        Max = Math.Max(Max, value);
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The smallest recorded bucket's upper bound at or below which <paramref name="percent"/>% of samples fall.</summary>
    public long Percentile(double percent)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percent / 100.0 * Count));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestValueIn(i), Max);
            }
        }

        return Max;
    }

    private static int IndexOf(long value)
    {
        if (value < ExactBuckets)
        {
            return (int)value;
        }

        var shift = Math.Min(63 - BitOperations.LeadingZeroCount((ulong)value) - 10, MaxShift);
        var sub = Math.Min(value >> shift, (2 * SubBuckets) - 1);
        return ExactBuckets + ((shift - 1) * SubBuckets) + (int)(sub - SubBuckets);
    }

    private static long HighestValueIn(int index)
    {
        if (index < ExactBuckets)
        {
            return index;
        }

        var shift = ((index - ExactBuckets) / SubBuckets) + 1;
        var sub = (long)((index - ExactBuckets) % SubBuckets) + SubBuckets;
        return ((sub + 1) << shift) - 1;
    }
}
