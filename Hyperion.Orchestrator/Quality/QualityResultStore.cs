using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// <c>quality_results</c>: each version's latest quality metrics as the schedule judged them, so that every orchestrator
/// replica exports the same <c>hyperion_orchestrator_model_quality</c> gauges, whichever replica ran the round.
/// </summary>
internal static class QualityResultStore
{
    public static async Task SaveAsync(Db db, string model, long version, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            INSERT INTO quality_results (model, version, metrics) VALUES (@model, @version, @metrics)
            ON CONFLICT (model, version) DO UPDATE SET metrics = excluded.metrics, computed_at = now()
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        command.BindJson("metrics", metrics);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every metric of every version judged in the last day (older ones are of deployments no longer monitored).</summary>
    public static async Task<List<(string Model, long Version, string Metric, double Value)>> LatestAsync(Db db, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT model, version, metrics::text FROM quality_results WHERE computed_at > now() - interval '1 day'");
        var rows = await command.ReadAllAsync(reader => (reader.GetString(0), reader.GetInt64(1), reader.GetString(2)), cancellationToken);
        var metrics = new List<(string, long, string, double)>();
        foreach (var (model, version, json) in rows)
        {
            foreach (var (metric, value) in JsonSerializer.Deserialize<Dictionary<string, double>>(json, ControlPlaneJson.Options) ?? [])
            {
                metrics.Add((model, version, metric, value));
            }
        }
        return metrics;
    }
}
