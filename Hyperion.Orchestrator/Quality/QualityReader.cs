using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// A version's quality over a window (<c>GET /api/v1/models/{m}/quality</c>): its captures joined with the labels
/// received for them, whenever they came.
/// </summary>
/// <param name="Count">Labelled rows the metrics are computed over.</param>
/// <param name="Output">The output the predictions are read from.</param>
/// <param name="Unmatched">Labels of the model that match no capture (yet): counted, kept, and matched when their capture lands.</param>
/// <param name="Unusable">Labelled captures whose label does not fit (an array of another length than the capture's rows, a class for a regression) or whose prediction cannot be read.</param>
/// <param name="Classes">Per class precision, recall, F1 and support (classification only).</param>
internal sealed record QualityReport(
    string Model,
    long Version,
    string Task,
    string? Output,
    QualityWindow Window,
    long Count,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, ClassQuality>? Classes,
    long LabelledRequests,
    long Unusable,
    long Unmatched);

internal sealed record QualityWindow(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? Since,
    DateTimeOffset Until);

internal static class QualityReader
{
    public static async Task<QualityReport> ReadAsync(
        Db db, MonitoredVersion version, string? output, DateTimeOffset? since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var labelled = await LabelledAsync(db, version, output, since, until, cancellationToken);
        var unmatched = await UnmatchedAsync(db, version.Model, cancellationToken);
        var (scores, count, unusable) = Score(version.IsClassifier, labelled);
        return new QualityReport(version.Model, version.Version, version.Task, output, new QualityWindow(since, until), count, scores.Metrics, scores.Classes,
            labelled.Count, unusable, unmatched);
    }

    /// <summary>The version's captures in the window that have a label, newest first: rows, the output's tensor, the label.</summary>
    public static async Task<List<(int Rows, string? Outputs, string Label)>> LabelledAsync(
        Db db, MonitoredVersion version, string? output, DateTimeOffset? since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        if (output is null)
        {
            return [];
        }
        await using var command = db.Command($"""
            SELECT c.rows, (c.outputs -> @output)::text, f.label::text
            FROM captures c
            JOIN feedback f ON f.model = c.model AND (f.request_id = c.request_id OR f.request_id = c.oip_id)
            WHERE c.model = @model AND c.version = @version
              AND (@since::timestamptz IS NULL OR c.captured_at >= @since) AND c.captured_at < @until
            ORDER BY c.captured_at DESC
            LIMIT {CaptureReader.MaxCaptures}
            """);
        command.Bind("model", version.Model);
        command.Bind("version", version.Version);
        command.Bind("output", output);
        command.Bind("since", since?.ToUniversalTime());
        command.Bind("until", until.ToUniversalTime());
        return await command.ReadAllAsync(reader => (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)), cancellationToken);
    }

    /// <summary>Pairs every labelled row with its prediction and scores them; returns the scores, the rows used and the captures left out.</summary>
    public static (QualityScores Scores, long Count, long Unusable) Score(bool classifier, IReadOnlyList<(int Rows, string? Outputs, string Label)> labelled)
    {
        var classes = new List<(string, string)>();
        var values = new List<(double, double)>();
        long unusable = 0;
        foreach (var (rows, outputs, label) in labelled)
        {
            var tensor = CapturedTensor.Parse(outputs);
            var labels = Labels(label, rows);
            if (tensor is null || labels is null || tensor.Rows != labels.Count)
            {
                unusable++;
                continue;
            }
            for (var row = 0; row < labels.Count; row++)
            {
                if (classifier)
                {
                    classes.Add((ClassOf(labels[row]), tensor.PredictedClass(row)));
                }
                else if (labels[row].ValueKind == JsonValueKind.Number && tensor.PredictedValue(row) is var predicted && double.IsFinite(predicted))
                {
                    values.Add((labels[row].GetDouble(), predicted));
                }
                else
                {
                    unusable++;
                    break;
                }
            }
        }
        return classifier
            ? (QualityMetrics.Classification(classes), classes.Count, unusable)
            : (QualityMetrics.Regression(values), values.Count, unusable);
    }

    /// <summary>Labels of the model that match no capture of any version.</summary>
    public static async Task<long> UnmatchedAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT count(*) FROM feedback f
            WHERE f.model = @model
              AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.model = f.model AND c.request_id = f.request_id)
              AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.model = f.model AND c.oip_id = f.request_id)
            """);
        command.Bind("model", model);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>One label per row: the array's items, or the one label of a one-row request; null when they do not fit.</summary>
    private static List<JsonElement>? Labels(string json, int rows)
    {
        var label = JsonDocument.Parse(json).RootElement;
        if (label.ValueKind == JsonValueKind.Array)
        {
            var items = label.EnumerateArray().ToList();
            return items.Count == rows ? items : null;
        }
        return rows == 1 ? [label] : null;
    }

    /// <summary>A label as a class: whole numbers in decimal (3 and 3.0 are class "3"), strings as they are.</summary>
    private static string ClassOf(JsonElement label) => label.ValueKind switch
    {
        JsonValueKind.Number when label.TryGetInt64(out var whole) => PredictionBaseline.ClassKey(whole),
        JsonValueKind.Number when label.GetDouble() is var number && number == Math.Floor(number) && Math.Abs(number) < 1e15 => PredictionBaseline.ClassKey((long)number),
        JsonValueKind.Number => label.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.String => label.GetString()!,
        _ => label.GetRawText(),
    };
}
