namespace Hyperion.Orchestrator.Quality;

/// <summary>One class's precision and recall (and F1) over the labelled rows; <paramref name="Support"/> is its number of true labels.</summary>
internal sealed record ClassQuality(double Precision, double Recall, double F1, long Support);

/// <summary>Metrics of one version over the labelled rows: classification (accuracy, macro F1, per class) or regression (MAE, RMSE).</summary>
internal sealed record QualityScores(IReadOnlyDictionary<string, double> Metrics, IReadOnlyDictionary<string, ClassQuality>? Classes);

/// <summary>
/// Quality from (label, prediction) pairs, as pure functions. Classification follows scikit-learn's definitions:
/// macro F1 is the unweighted mean of the per-class F1 over every class seen as a label or a prediction, and a class
/// never predicted (or never labelled) has precision (recall) 0.
/// </summary>
internal static class QualityMetrics
{
    public static QualityScores Classification(IReadOnlyCollection<(string Label, string Predicted)> pairs)
    {
        if (pairs.Count == 0)
        {
            return new QualityScores(new Dictionary<string, double>(), new Dictionary<string, ClassQuality>());
        }
        var truePositives = new Dictionary<string, long>(StringComparer.Ordinal);
        var labelled = new Dictionary<string, long>(StringComparer.Ordinal);
        var predicted = new Dictionary<string, long>(StringComparer.Ordinal);
        long correct = 0;
        foreach (var (label, prediction) in pairs)
        {
            labelled[label] = labelled.GetValueOrDefault(label) + 1;
            predicted[prediction] = predicted.GetValueOrDefault(prediction) + 1;
            if (string.Equals(label, prediction, StringComparison.Ordinal))
            {
                correct++;
                truePositives[label] = truePositives.GetValueOrDefault(label) + 1;
            }
        }
        var classes = new SortedDictionary<string, ClassQuality>(StringComparer.Ordinal);
        foreach (var name in labelled.Keys.Union(predicted.Keys))
        {
            var tp = (double)truePositives.GetValueOrDefault(name);
            var precision = predicted.TryGetValue(name, out var p) ? tp / p : 0;
            var recall = labelled.TryGetValue(name, out var l) ? tp / l : 0;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            classes[name] = new ClassQuality(precision, recall, f1, labelled.GetValueOrDefault(name));
        }
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["accuracy"] = (double)correct / pairs.Count,
            ["macro_f1"] = classes.Values.Average(c => c.F1),
        };
        return new QualityScores(metrics, classes);
    }

    public static QualityScores Regression(IReadOnlyCollection<(double Label, double Predicted)> pairs)
    {
        if (pairs.Count == 0)
        {
            return new QualityScores(new Dictionary<string, double>(), null);
        }
        double absolute = 0, squared = 0;
        foreach (var (label, prediction) in pairs)
        {
            var error = prediction - label;
            absolute += Math.Abs(error);
            squared += error * error;
        }
        return new QualityScores(new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["mae"] = absolute / pairs.Count,
            ["rmse"] = Math.Sqrt(squared / pairs.Count),
        }, null);
    }
}
