using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// One arm's cumulative counters as the gateways left them in Redis (<see cref="ArmStatisticsKeys"/>): stored as a
/// step's baseline, and subtracted from a later read to get what happened since (<see cref="Since"/>).
/// </summary>
/// <param name="Buckets">Latency bucket counts in the order of <see cref="ArmStatisticsKeys.LatencyBucketsMs"/>, then the overflow bucket.</param>
internal sealed record ArmTotals(long Version, long Requests, long Errors, double LatencyMsSum, long[] Buckets)
{
    private static readonly string[] s_bucketFields =
        [.. ArmStatisticsKeys.LatencyBucketsMs.Select(ArmStatisticsKeys.BucketField), ArmStatisticsKeys.OverflowBucket];

    public static int BucketCount => s_bucketFields.Length;

    public static ArmTotals Empty(long version) => new(version, 0, 0, 0, new long[BucketCount]);

    public static ArmTotals FromHash(long version, HashEntry[] entries)
    {
        long requests = 0, errors = 0;
        double latency = 0;
        var buckets = new long[BucketCount];
        foreach (var entry in entries)
        {
            var field = (string)entry.Name!;
            switch (field)
            {
                case ArmStatisticsKeys.Requests:
                    requests = Long(entry.Value);
                    break;
                case ArmStatisticsKeys.Errors:
                    errors = Long(entry.Value);
                    break;
                case ArmStatisticsKeys.LatencySum:
                    latency = Double(entry.Value);
                    break;
                default:
                    var index = Array.IndexOf(s_bucketFields, field);
                    if (index >= 0)
                    {
                        buckets[index] = Long(entry.Value);
                    }
                    break;
            }
        }
        return new ArmTotals(version, requests, errors, latency, buckets);
    }

    /// <summary>
    /// What the arm counted since <paramref name="baseline"/>. Counters only grow; when one went back (the hash
    /// expired, Redis lost its data) the counting restarted, and everything read now happened since.
    /// </summary>
    public ArmWindow Since(ArmTotals? baseline)
    {
        if (baseline is null || baseline.Version != Version || baseline.Buckets.Length != Buckets.Length || WentBack(baseline))
        {
            return new ArmWindow(Version, Requests, Errors, LatencyMsSum, Buckets);
        }
        var buckets = new long[Buckets.Length];
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] = Buckets[i] - baseline.Buckets[i];
        }
        return new ArmWindow(Version, Requests - baseline.Requests, Errors - baseline.Errors, Math.Max(0, LatencyMsSum - baseline.LatencyMsSum), buckets);
    }

    private bool WentBack(ArmTotals baseline)
    {
        if (Requests < baseline.Requests || Errors < baseline.Errors)
        {
            return true;
        }
        for (var i = 0; i < Buckets.Length; i++)
        {
            if (Buckets[i] < baseline.Buckets[i])
            {
                return true;
            }
        }
        return false;
    }

    private static long Long(RedisValue value) =>
        long.TryParse((string?)value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : 0;

    private static double Double(RedisValue value) =>
        double.TryParse((string?)value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : 0;
}

/// <summary>One arm's numbers over a window (a step, or the whole rollout).</summary>
internal sealed record ArmWindow(long Version, long Requests, long Errors, double LatencyMsSum, long[] Buckets)
{
    public static ArmWindow Empty(long version) => new(version, 0, 0, 0, new long[ArmTotals.BucketCount]);

    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    public double? MeanMs => Requests == 0 ? null : LatencyMsSum / Requests;

    /// <summary>
    /// The upper bound of the latency bucket holding the 95th percentile; +∞ when it is in the overflow bucket
    /// (above the largest bound); null without requests.
    /// </summary>
    public double? P95Ms => Quantile(0.95);

    public double? Quantile(double quantile)
    {
        long total = 0;
        foreach (var count in Buckets)
        {
            total += count;
        }
        if (total == 0)
        {
            return null;
        }
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        var bounds = ArmStatisticsKeys.LatencyBucketsMs;
        for (var i = 0; i < bounds.Count; i++)
        {
            seen += Buckets[i];
            if (seen >= rank)
            {
                return bounds[i];
            }
        }
        return double.PositiveInfinity;
    }
}
