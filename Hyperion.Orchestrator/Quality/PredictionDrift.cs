using System.Globalization;

namespace Hyperion.Orchestrator.Quality;

/// <summary>Prediction drift: the output's distribution now against a reference.</summary>
/// <param name="Kind"><c>classes</c> (a classifier's predicted classes) or <c>histogram</c> (a regression output's values).</param>
/// <param name="Reference">Where the reference came from: <c>baseline_profile</c> or <c>earliest_captures</c> (null: none yet).</param>
/// <param name="Bins">The classes, or the histogram's bins as <c>[low, high)</c>, in the order of the counts.</param>
/// <param name="Reason">Why there is no PSI; null when there is one.</param>
internal sealed record PredictionDrift(
    string Output,
    string Kind,
    string? Reference,
    long ReferenceRows,
    long Rows,
    double? Psi,
    double? ChiSquared,
    double? PValue,
    bool Drifted,
    IReadOnlyList<string> Bins,
    long[] Counts,
    long[] ReferenceCounts,
    string? Reason);

/// <summary>
/// Prediction drift as pure functions: class counts (classifiers) or a histogram (regression) against a reference,
/// judged by PSI against the same threshold as the features.
/// </summary>
internal static class PredictionDriftAnalysis
{
    /// <summary>Bins of a regression histogram whose edges come from a window of reference values.</summary>
    public const int HistogramBins = 10;

    public static PredictionDrift Classes(
        string output, string? reference, IReadOnlyDictionary<string, long> referenceCounts, IReadOnlyDictionary<string, long> counts, double psiThreshold)
    {
        var classes = referenceCounts.Keys.Union(counts.Keys).ToList();
        classes.Sort(CompareClasses);
        var live = classes.Select(c => counts.GetValueOrDefault(c)).ToArray();
        var expected = classes.Select(c => referenceCounts.GetValueOrDefault(c)).ToArray();
        return Judge(output, "classes", reference, classes, expected, live, psiThreshold);
    }

    /// <summary>A histogram of <paramref name="values"/> on <paramref name="edges"/> (from the baseline, or <see cref="EdgesOf"/> the reference window).</summary>
    public static PredictionDrift Histogram(
        string output, string? reference, double[] edges, long[] referenceCounts, IEnumerable<double> values, double psiThreshold)
    {
        var bins = Enumerable.Range(0, edges.Length - 1)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"[{edges[i]:G6}, {edges[i + 1]:G6})"))
            .ToList();
        return Judge(output, "histogram", reference, bins, referenceCounts, CountInto(edges, values), psiThreshold);
    }

    /// <summary><see cref="HistogramBins"/> equal bins from the smallest to the largest value (one unit wide when they are all equal).</summary>
    public static double[]? EdgesOf(IReadOnlyCollection<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0)
        {
            return null;
        }
        var (low, high) = (finite.Min(), finite.Max());
        if (high <= low)
        {
            (low, high) = (low - 0.5, high + 0.5);
        }
        return [.. Enumerable.Range(0, HistogramBins + 1).Select(i => low + ((high - low) * i / HistogramBins))];
    }

    public static long[] CountInto(double[] edges, IEnumerable<double> values)
    {
        var counts = new long[edges.Length - 1];
        foreach (var value in values)
        {
            if (!double.IsNaN(value))
            {
                counts[DriftMath.Bin(edges, value)]++;
            }
        }
        return counts;
    }

    /// <summary>No reference to compare with yet: the output's counts alone, and why.</summary>
    public static PredictionDrift NoReference(string output, string kind, long rows, string reason) =>
        new(output, kind, null, 0, rows, null, null, null, false, [], [], [], reason);

    private static PredictionDrift Judge(
        string output, string kind, string? reference, IReadOnlyList<string> bins, long[] expected, long[] live, double psiThreshold)
    {
        var rows = live.Sum();
        var referenceRows = expected.Sum();
        var psi = DriftMath.Psi(expected, live);
        var chi = DriftMath.ChiSquared(expected, live);
        string? reason = rows == 0 ? "no predictions in the window" : referenceRows == 0 ? "the reference has no predictions" : null;
        return new PredictionDrift(output, kind, reference, referenceRows, rows, psi, chi?.Statistic, chi?.PValue, psi > psiThreshold, bins, live, expected, reason);
    }

    /// <summary>Integer classes in numeric order, then labels in ordinal order.</summary>
    private static int CompareClasses(string a, string b)
    {
        var aNumber = long.TryParse(a, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x);
        var bNumber = long.TryParse(b, NumberStyles.Integer, CultureInfo.InvariantCulture, out var y);
        return (aNumber, bNumber) switch
        {
            (true, true) => x.CompareTo(y),
            (true, false) => -1,
            (false, true) => 1,
            _ => string.CompareOrdinal(a, b),
        };
    }
}
