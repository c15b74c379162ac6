using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Quality;

namespace Hyperion.Tests.Quality;

/// <summary>Quality metrics and the feedback body's checks, as plain functions.</summary>
public sealed class QualityMetricsTests
{
    [Fact]
    public void Classification_gives_accuracy_macro_f1_and_per_class_precision_and_recall()
    {
        (string, string)[] pairs = [("0", "0"), ("0", "1"), ("1", "1"), ("1", "1"), ("2", "0")];
        var scores = QualityMetrics.Classification(pairs);
        Assert.Equal(0.6, scores.Metrics["accuracy"], 12);
        // Class 0: predicted twice, right once (P 1/2), labelled twice (R 1/2), F1 1/2. Class 1: P 2/3, R 1, F1 0.8.
        // Class 2: never predicted, so P 0 and R 0, F1 0. Macro F1 = (0.5 + 0.8 + 0) / 3.
        Assert.Equal((0.5 + 0.8) / 3, scores.Metrics["macro_f1"], 12);
        Assert.Equal(0.5, scores.Classes!["0"].Precision, 12);
        Assert.Equal(2.0 / 3, scores.Classes["1"].Precision, 12);
        Assert.Equal(1, scores.Classes["1"].Recall, 12);
        Assert.Equal(0, scores.Classes["2"].Recall, 12);
        Assert.Equal(1, scores.Classes["2"].Support);
    }

    [Fact]
    public void Regression_gives_mae_and_rmse()
    {
        var scores = QualityMetrics.Regression([(1.0, 2.0), (3.0, 1.0)]);
        Assert.Equal(1.5, scores.Metrics["mae"], 12);
        Assert.Equal(Math.Sqrt(2.5), scores.Metrics["rmse"], 12);
    }

    [Fact]
    public void Labels_pair_with_the_rows_of_their_capture_and_what_does_not_fit_is_counted_apart()
    {
        const string outputs = """{"datatype": "INT64", "shape": [2], "data": [3, 5]}""";
        const string one = """{"datatype": "INT64", "shape": [1], "data": [4]}""";
        var (scores, count, unusable) = QualityReader.Score(classifier: true,
        [
            (2, outputs, "[3, 4]"), // right, wrong
            (1, one, "4"), // a one-row request takes a plain label
            (1, one, "4.0"), // a whole number written as a float is the same class
            (2, outputs, "3"), // one label for two rows: does not fit
            (2, outputs, "[3]"), // too few labels
        ]);
        Assert.Equal(4, count);
        Assert.Equal(2, unusable);
        Assert.Equal(0.75, scores.Metrics["accuracy"], 12);
    }

    [Fact]
    public void A_feedback_body_with_mistakes_is_refused_naming_every_field()
    {
        var body = JsonNode.Parse("""
            {"model": "", "items": [{"request_id": "a", "label": 3}, {"request_id": 7, "label": {"x": 1}}, 5, {"request_id": "b", "label": [], "extra": 1}], "more": true}
            """)!.AsObject();
        var errors = new Dictionary<string, string[]>();
        FeedbackEndpoints.Validate(body, errors);
        Assert.Equal(["items[1].label", "items[1].request_id", "items[2]", "items[3].extra", "items[3].label", "model", "more"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_good_feedback_body_gives_labels_by_request_id_and_the_last_of_a_repeated_id_wins()
    {
        var body = JsonNode.Parse("""
            {"model": "digits", "items": [{"request_id": "a", "label": 3}, {"request_id": "b", "label": ["cat", 2.5]}, {"request_id": "a", "label": 4}]}
            """)!.AsObject();
        var errors = new Dictionary<string, string[]>();
        var (model, labels) = FeedbackEndpoints.Validate(body, errors);
        Assert.Empty(errors);
        Assert.Equal("digits", model);
        Assert.Equal("4", labels["a"]);
        Assert.Equal("""["cat",2.5]""", labels["b"]);
        Assert.Equal(2, labels.Count);
    }
}
