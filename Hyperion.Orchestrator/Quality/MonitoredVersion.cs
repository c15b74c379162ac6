using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Lineage;

namespace Hyperion.Orchestrator.Quality;

/// <summary>What drift and quality need of a registered version: the model's task, the baseline, the outputs and the lineage.</summary>
/// <param name="FirstOutput">The first output of the version's config: the predicted class unless the deployment names another.</param>
internal sealed record MonitoredVersion(string Model, long Version, string Task, BaselineProfile? Profile, string? FirstOutput, JsonNode? Lineage)
{
    public bool IsClassifier => Task == "classification";

    /// <summary>
    /// The accuracy the version was registered with, from its lineage's metrics as the registry reads them
    /// (<see cref="LineageReader"/>: <c>metrics</c> or <c>evaluation_metrics</c>, nested or as MLflow lists them): the
    /// test accuracy (<c>test_accuracy</c> or <c>test.accuracy</c>), else <c>accuracy</c>; null when there is none.
    /// </summary>
    public double? RegisteredAccuracy
    {
        get
        {
            if (Lineage is not JsonObject lineage)
            {
                return null;
            }
            var metrics = LineageReader.Read(lineage).Metrics;
            foreach (var name in (ReadOnlySpan<string>)["test_accuracy", "test.accuracy", "accuracy"])
            {
                if (metrics.TryGetValue(name, out var accuracy) && double.IsFinite(accuracy))
                {
                    return accuracy;
                }
            }
            return null;
        }
    }

    /// <summary>The version, or null when the model has no such version.</summary>
    public static async Task<MonitoredVersion?> ReadAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT m.task, v.baseline_profile::text, v.config -> 'output' -> 0 ->> 'name', v.lineage::text
            FROM model_versions v JOIN models m ON m.name = v.model
            WHERE v.model = @model AND v.version = @version
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        var rows = await command.ReadAllAsync(reader => new MonitoredVersion(
            Model: model,
            Version: version,
            Task: reader.GetString(0),
            Profile: reader.IsDBNull(1) ? null : BaselineProfile.Parse(JsonNode.Parse(reader.GetString(1))!),
            FirstOutput: reader.IsDBNull(2) ? null : reader.GetString(2),
            Lineage: reader.IsDBNull(3) ? null : JsonNode.Parse(reader.GetString(3))), cancellationToken);
        return rows.SingleOrDefault();
    }

    /// <summary>Whether the model is registered.</summary>
    public static async Task<bool> ModelExistsAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT EXISTS (SELECT 1 FROM models WHERE name = @model)");
        command.Bind("model", model);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
