using System.Globalization;

namespace Hyperion.Benchmarks.Pipelines;

/// <summary>
/// The sums and counts of the gateway's latency histograms on its <c>/metrics</c> (Prometheus text), one series per
/// metric and label set. Two scrapes around a window of load give the mean time a call spent in each part of the
/// gateway over that window: where the time of a pipeline call, or of a back-to-back pair, goes.
/// </summary>
internal sealed class GatewayHistograms
{
    private readonly Dictionary<string, (double Sum, double Count)> _series = [];

    public static async Task<GatewayHistograms> ScrapeAsync(HttpClient http, Uri metrics, CancellationToken cancellationToken)
    {
        var histograms = new GatewayHistograms();
        foreach (var line in (await http.GetStringAsync(metrics, cancellationToken)).Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            if (space < 0 || brace < 0 || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }
            var name = line[..brace];
            var (series, isSum) = name.EndsWith("_sum", StringComparison.Ordinal) ? (name[..^4], true)
                : name.EndsWith("_count", StringComparison.Ordinal) ? (name[..^6], false)
                : (null, false);
            if (series is null)
            {
                continue;
            }
            var key = series + line[brace..space];
            var (sum, count) = histograms._series.GetValueOrDefault(key);
            histograms._series[key] = isSum ? (sum + value, count) : (sum, count + value);
        }
        return histograms;
    }

    /// <summary>Adds what the series of <paramref name="after"/> gained since <paramref name="before"/>.</summary>
    public void AddDifference(GatewayHistograms before, GatewayHistograms after)
    {
        foreach (var (key, (sum, count)) in after._series)
        {
            var (sumBefore, countBefore) = before._series.GetValueOrDefault(key);
            var (total, calls) = _series.GetValueOrDefault(key);
            _series[key] = (total + sum - sumBefore, calls + count - countBefore);
        }
    }

    /// <summary>The mean in milliseconds over the series of <paramref name="metric"/> whose labels hold <paramref name="label"/>; null without samples.</summary>
    public double? MeanMilliseconds(string metric, string label)
    {
        double sum = 0, count = 0;
        foreach (var (key, (s, c)) in _series)
        {
            if (key.StartsWith(metric + "{", StringComparison.Ordinal) && key.Contains(label, StringComparison.Ordinal))
            {
                sum += s;
                count += c;
            }
        }
        return count > 0 ? sum / count * 1000 : null;
    }
}
