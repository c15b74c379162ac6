using System.Globalization;

namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// Where the Gateway keeps per-arm traffic statistics in Redis, for the rollout controller. One hash per model,
/// version and arm, <c>hyperion:arms:{model}:{version}:{arm}</c> (arm: <c>stable</c>, <c>canary</c> or <c>shadow</c>),
/// whose fields are cumulative counters since the hash was created (every gateway replica adds to the same hash,
/// about once a second; readers take differences between two reads):
/// <list type="table">
/// <item><term><c>requests</c></term><description>requests answered by the arm (cache hits are not counted)</description></item>
/// <item><term><c>errors</c></term><description>of those, answered 5xx or not answered at all (transport failure, timeout)</description></item>
/// <item><term><c>latency_ms_sum</c></term><description>sum of latencies in milliseconds (a float)</description></item>
/// <item><term><c>le_&lt;bound&gt;</c></term><description>requests that took at most <c>bound</c> ms (non-cumulative buckets, see <see cref="LatencyBucketsMs"/>; <c>le_inf</c> for the rest)</description></item>
/// <item><term><c>compared</c>, <c>agreed</c></term><description>shadow only: copies whose first output was compared with stable's, and of those how many had the same top class (argmax)</description></item>
/// <item><term><c>abs_diff_sum</c>, <c>abs_diff_max</c></term><description>shadow only: sum and maximum over compared copies of the max absolute difference of the first output</description></item>
/// </list>
/// Hashes expire <see cref="TimeToLive"/> after the last update.
/// </summary>
public static class ArmStatisticsKeys
{
    public const string Prefix = "hyperion:arms:";

    public const string Stable = "stable";
    public const string Canary = "canary";
    public const string Shadow = "shadow";

    public const string Requests = "requests";
    public const string Errors = "errors";
    public const string LatencySum = "latency_ms_sum";
    public const string Compared = "compared";
    public const string Agreed = "agreed";
    public const string AbsDiffSum = "abs_diff_sum";
    public const string AbsDiffMax = "abs_diff_max";
    public const string OverflowBucket = "le_inf";

    public static readonly TimeSpan TimeToLive = TimeSpan.FromDays(7);

    /// <summary>Upper bounds of the latency buckets, in milliseconds: fine enough to read a p95 to within one bucket.</summary>
    public static IReadOnlyList<double> LatencyBucketsMs { get; } =
        [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10000];

    public static string For(string model, long version, string arm) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{model}:{version}:{arm}");

    /// <summary>The field of the bucket with upper bound <paramref name="boundMs"/> (e.g. <c>le_7.5</c>).</summary>
    public static string BucketField(double boundMs) => "le_" + boundMs.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The latency under which <paramref name="quantile"/> of the requests fell (the upper bound of that bucket),
    /// from bucket counts read from the hash (field name → count); null when there were no requests.
    /// </summary>
    public static double? Quantile(IReadOnlyDictionary<string, long> fields, double quantile)
    {
        long total = 0;
        foreach (var bound in LatencyBucketsMs)
        {
            total += fields.GetValueOrDefault(BucketField(bound));
        }
        total += fields.GetValueOrDefault(OverflowBucket);
        if (total == 0)
        {
            return null;
        }
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        foreach (var bound in LatencyBucketsMs)
        {
            seen += fields.GetValueOrDefault(BucketField(bound));
            if (seen >= rank)
            {
                return bound;
            }
        }
        return double.PositiveInfinity;
    }
}
