using Hyperion.Orchestrator.Quality;

namespace Hyperion.Tests.Quality;

/// <summary>The data and prediction drift verdicts from counts alone (QualityGraphTests see them on captured traffic).</summary>
public sealed class DriftAnalysisTests
{
    private static readonly double[] Edges = [0, 1, 2];

    private static readonly BaselineProfile Profile = new("x",
    [
        new BaselineFeature("a", 0, Edges, [50, 50]),
        new BaselineFeature("b", 1, Edges, [50, 50]),
        new BaselineFeature("c", 2, Edges, [50, 50]),
    ], null);

    private static readonly DriftThresholds Thresholds = new(PsiThreshold: 0.2, DriftedShare: 0.2, MinRows: 100);

    [Fact]
    public void Rows_are_counted_per_feature_by_its_index_and_values_outside_the_edges_go_to_the_end_bins()
    {
        // Two rows of width 3, then a row of width 2 (too narrow for feature c) with a NaN for b.
        var tensors = new[]
        {
            Tensor("""{"datatype": "FP32", "shape": [2, 3], "data": [0.5, 1.5, -7, 9, 1.0, 2]}"""),
            Tensor("""{"datatype": "FP32", "shape": [1, 2], "data": [1, "NaN"]}"""),
        };
        var (rows, counts) = DriftAnalysis.Count(Profile, tensors);
        Assert.Equal(3, rows);
        Assert.Equal([1, 2], counts[0]); // 0.5 → 0; 9 → 1 (above the range); 1 → 1
        Assert.Equal([0, 2], counts[1]); // 1.5 and 1.0 → 1; the NaN is left out
        Assert.Equal([1, 1], counts[2]); // -7 → 0 (below the range); 2 → 1 (the last edge); the narrow row has no c
    }

    [Fact]
    public void The_score_is_the_share_of_features_over_the_psi_threshold_and_more_than_the_drifted_share_drifts()
    {
        // a: (25, 75) has PSI 0.2747 > 0.2; b: (45, 55) about 0.01; c: unchanged.
        var drift = DriftAnalysis.Judge(Profile, 100, [[25, 75], [45, 55], [50, 50]], Thresholds);
        Assert.Equal(1.0 / 3, drift.Score!.Value, 12);
        Assert.True(drift.Drifted);
        Assert.Equal(1, drift.DriftedFeatures);
        Assert.Equal(["a", "b", "c"], drift.Features.Select(f => f.Name));
        Assert.Equal(0.274653, drift.Features[0].Psi!.Value, 6);
        Assert.True(drift.Features[0].Drifted);
        Assert.False(drift.Features[1].Drifted);
        Assert.Equal((drift.Features.Sum(f => f.Psi!.Value)) / 3, drift.MeanPsi!.Value, 12);
        Assert.Null(drift.Reason);

        // The same with a drifted share of 0.4: one feature in three is not more than 40 %.
        Assert.False(DriftAnalysis.Judge(Profile, 100, [[25, 75], [45, 55], [50, 50]], Thresholds with { DriftedShare = 0.4 }).Drifted);
    }

    [Fact]
    public void Features_are_listed_worst_first()
    {
        var drift = DriftAnalysis.Judge(Profile, 100, [[50, 50], [10, 90], [20, 80]], Thresholds);
        Assert.Equal(["b", "c", "a"], drift.Features.Select(f => f.Name));
        Assert.Equal(2.0 / 3, drift.Score!.Value, 12);
    }

    [Fact]
    public void Too_few_rows_give_no_verdict_however_far_they_shifted_and_say_so()
    {
        var drift = DriftAnalysis.Judge(Profile, 99, [[0, 99], [0, 99], [0, 99]], Thresholds);
        Assert.Null(drift.Score);
        Assert.False(drift.Drifted);
        Assert.Equal("too few rows for a verdict: 99 in the window, min_rows is 100", drift.Reason);
        Assert.Equal(3, drift.DriftedFeatures);
    }

    [Fact]
    public void Prediction_drift_compares_class_shares_over_the_classes_of_either_side_in_numeric_order()
    {
        var drift = PredictionDriftAnalysis.Classes("label", "earliest_captures",
            new Dictionary<string, long> { ["0"] = 50, ["1"] = 50 },
            new Dictionary<string, long> { ["1"] = 75, ["0"] = 25 }, 0.2);
        Assert.Equal(0.274653, drift.Psi!.Value, 6);
        Assert.True(drift.Drifted);
        Assert.Equal(["0", "1"], drift.Bins);
        Assert.Equal([25, 75], drift.Counts);
        Assert.Equal([50, 50], drift.ReferenceCounts);
        Assert.Equal(100, drift.Rows);

        var ordered = PredictionDriftAnalysis.Classes("label", "baseline_profile",
            new Dictionary<string, long> { ["10"] = 1, ["2"] = 1 }, new Dictionary<string, long> { ["cat"] = 1, ["2"] = 1 }, 0.2);
        Assert.Equal(["2", "10", "cat"], ordered.Bins);
    }

    [Fact]
    public void A_regression_histogram_takes_ten_equal_bins_from_the_reference_range()
    {
        var edges = PredictionDriftAnalysis.EdgesOf([0.0, 10.0, 5.0])!;
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (double)i), edges);
        var reference = PredictionDriftAnalysis.CountInto(edges, [0.0, 10.0, 5.0]);
        Assert.Equal([1, 0, 0, 0, 0, 1, 0, 0, 0, 1], reference);
        var drift = PredictionDriftAnalysis.Histogram("y", "earliest_captures", edges, reference, [5.5, 12, -1], 0.2);
        Assert.Equal([1, 0, 0, 0, 0, 1, 0, 0, 0, 1], drift.Counts); // 12 and -1 fall in the end bins
        Assert.Equal(0, drift.Psi!.Value, 12);
        Assert.Equal("[0, 1)", drift.Bins[0]);
    }

    [Fact]
    public void The_predicted_class_is_an_integer_output_or_the_argmax_of_a_score_vector()
    {
        var scores = Tensor("""{"datatype": "FP32", "shape": [2, 3], "data": [0.1, 0.7, 0.2, 0.5, 0.2, 0.3]}""");
        Assert.Equal(["1", "0"], new[] { scores.PredictedClass(0), scores.PredictedClass(1) });
        var labels = Tensor("""{"datatype": "INT64", "shape": [2], "data": [7, 3]}""");
        Assert.Equal(["7", "3"], new[] { labels.PredictedClass(0), labels.PredictedClass(1) });
        var names = Tensor("""{"datatype": "BYTES", "shape": [1], "data": ["cat"]}""");
        Assert.Equal("cat", names.PredictedClass(0));
        Assert.Null(CapturedTensor.Parse("""{"datatype": "FP32", "shape": [2, 3], "data": [1, 2]}"""));
    }

    private static CapturedTensor Tensor(string json) => CapturedTensor.Parse(json) ?? throw new InvalidOperationException($"not a tensor: {json}");
}
