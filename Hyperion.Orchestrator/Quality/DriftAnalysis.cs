using System.Globalization;

namespace Hyperion.Orchestrator.Quality;

/// <summary>How drift is judged: a deployment's <c>monitoring.drift</c> settings.</summary>
/// <param name="PsiThreshold">A feature (or the predictions) whose PSI exceeds this has drifted.</param>
/// <param name="DriftedShare">The version has drifted when more than this share of its features has.</param>
/// <param name="MinRows">Fewer rows in the window give no verdict.</param>
internal sealed record DriftThresholds(double PsiThreshold, double DriftedShare, long MinRows);

/// <summary>One feature's live bin counts against its baseline counts, with the statistics between them.</summary>
internal sealed record FeatureDrift(
    string Name,
    long Index,
    double? Psi,
    double? ChiSquared,
    double? PValue,
    double? Ks,
    bool Drifted,
    long[] Counts,
    long[] BaselineCounts);

/// <summary>The data-drift verdict over one window.</summary>
/// <param name="Rows">Rows of the profile's input read in the window.</param>
/// <param name="Score">The share of features that drifted (0..1); null without a verdict (too few rows).</param>
/// <param name="Reason">Why there is no verdict; null when there is one.</param>
/// <param name="Features">Worst (highest PSI) first.</param>
internal sealed record DataDrift(long Rows, double? Score, bool Drifted, double? MeanPsi, int DriftedFeatures, string? Reason, IReadOnlyList<FeatureDrift> Features);

/// <summary>
/// Data drift from bin counts, as a pure function: per feature PSI, chi-squared and KS against the baseline's counts
/// (<see cref="DriftMath"/>); a feature has drifted when its PSI exceeds the threshold, and the version when more than
/// <see cref="DriftThresholds.DriftedShare"/> of its features have. The score is that share of drifted features (as
/// Evidently's dataset drift reads it), so the published alert's "score above 0.2" and the default verdict agree.
/// </summary>
internal static class DriftAnalysis
{
    /// <summary>Live counts per profile feature, in the profile's order; rows too narrow for a feature's index and NaN values are left out.</summary>
    public static (long Rows, long[][] Counts) Count(BaselineProfile profile, IEnumerable<CapturedTensor> inputs)
    {
        var counts = profile.Features.Select(feature => new long[feature.Counts.Length]).ToArray();
        long rows = 0;
        foreach (var tensor in inputs)
        {
            if (!tensor.IsNumeric)
            {
                continue;
            }
            for (var row = 0; row < tensor.Rows; row++)
            {
                rows++;
                for (var f = 0; f < counts.Length; f++)
                {
                    var feature = profile.Features[f];
                    if (feature.Index >= tensor.Width)
                    {
                        continue;
                    }
                    var value = tensor.Number(row, (int)feature.Index);
                    if (!double.IsNaN(value))
                    {
                        counts[f][DriftMath.Bin(feature.Edges, value)]++;
                    }
                }
            }
        }
        return (rows, counts);
    }

    public static DataDrift Judge(BaselineProfile profile, long rows, long[][] counts, DriftThresholds thresholds)
    {
        var features = new List<FeatureDrift>(counts.Length);
        for (var f = 0; f < counts.Length; f++)
        {
            var baseline = profile.Features[f];
            var psi = DriftMath.Psi(baseline.Counts, counts[f]);
            var chi = DriftMath.ChiSquared(baseline.Counts, counts[f]);
            features.Add(new FeatureDrift(
                Name: baseline.Name,
                Index: baseline.Index,
                Psi: psi,
                ChiSquared: chi?.Statistic,
                PValue: chi?.PValue,
                Ks: DriftMath.KolmogorovSmirnov(baseline.Counts, counts[f]),
                Drifted: psi > thresholds.PsiThreshold,
                Counts: counts[f],
                BaselineCounts: baseline.Counts));
        }
        features.Sort((a, b) => (b.Psi ?? -1).CompareTo(a.Psi ?? -1));
        var measured = features.Where(feature => feature.Psi is not null).ToList();
        var meanPsi = measured.Count == 0 ? (double?)null : measured.Average(feature => feature.Psi!.Value);
        var driftedFeatures = features.Count(feature => feature.Drifted);
        if (rows < thresholds.MinRows)
        {
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"too few rows for a verdict: {rows} in the window, min_rows is {thresholds.MinRows}");
            return new DataDrift(rows, null, false, meanPsi, driftedFeatures, reason, features);
        }
        var score = (double)driftedFeatures / features.Count;
        return new DataDrift(rows, score, score > thresholds.DriftedShare, meanPsi, driftedFeatures, null, features);
    }
}
