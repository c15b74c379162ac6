using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Quality;

/// <summary><c>drift_results</c>: every computation appended; the latest of a version is its drift now.</summary>
internal static class DriftResultStore
{
    public static async Task AppendAsync(Db db, DriftResult result, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            INSERT INTO drift_results (model, version, computed_at, trigger, window_start, window_end, rows, score, drifted, result)
            VALUES (@model, @version, @computed_at, @trigger, @window_start, @window_end, @rows, @score, @drifted, @result)
            """);
        command.Bind("model", result.Model);
        command.Bind("version", result.Version);
        command.Bind("computed_at", result.ComputedAt.ToUniversalTime());
        command.Bind("trigger", result.Trigger);
        command.Bind("window_start", result.Window.Start.ToUniversalTime());
        command.Bind("window_end", result.Window.End.ToUniversalTime());
        command.Bind("rows", result.Rows);
        command.Bind("score", result.Score);
        command.Bind("drifted", result.Drifted);
        command.BindJson("result", result);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Whether the version's latest result had drifted; null before its first.</summary>
    public static async Task<bool?> LatestVerdictAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT drifted FROM drift_results WHERE model = @model AND version = @version ORDER BY computed_at DESC, id DESC LIMIT 1
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is bool drifted ? drifted : null;
    }

    /// <summary>The latest result's body, as stored; null before the first.</summary>
    public static async Task<string?> LatestAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT result::text FROM drift_results WHERE model = @model AND version = @version ORDER BY computed_at DESC, id DESC LIMIT 1
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Results at or after <paramref name="since"/>, newest first, at most <paramref name="limit"/>.</summary>
    public static async Task<List<DriftPoint>> HistoryAsync(Db db, string model, long version, DateTimeOffset? since, int limit, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT computed_at, trigger, rows, score, drifted, (result -> 'prediction' ->> 'psi')::double precision
            FROM drift_results
            WHERE model = @model AND version = @version AND (@since::timestamptz IS NULL OR computed_at >= @since)
            ORDER BY computed_at DESC, id DESC
            LIMIT @limit
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        command.Bind("since", since?.ToUniversalTime());
        command.Bind("limit", limit);
        return await command.ReadAllAsync(reader => new DriftPoint(
            reader.GetFieldValue<DateTimeOffset>(0),
            reader.GetString(1),
            reader.GetInt64(2),
            reader.IsDBNull(3) ? null : reader.GetDouble(3),
            reader.GetBoolean(4),
            reader.IsDBNull(5) ? null : reader.GetDouble(5)), cancellationToken);
    }

    /// <summary>The latest score of every version computed in the last day, where that result has one (for the gauges of every replica).</summary>
    public static async Task<List<(string Model, long Version, double Score)>> LatestScoresAsync(Db db, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT DISTINCT ON (model, version) model, version, score
            FROM drift_results
            WHERE computed_at > now() - interval '1 day'
            ORDER BY model, version, computed_at DESC, id DESC
            """);
        var rows = await command.ReadAllAsync(reader => (reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? (double?)null : reader.GetDouble(2)), cancellationToken);
        return [.. rows.Where(row => row.Item3 is not null).Select(row => (row.Item1, row.Item2, row.Item3!.Value))];
    }

    /// <summary>Deletes results computed before <paramref name="time"/>, except each version's latest; answers how many went.</summary>
    public static async Task<int> PruneAsync(Db db, DateTimeOffset time, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            DELETE FROM drift_results d
            WHERE d.computed_at < @before
              AND EXISTS (SELECT 1 FROM drift_results later
                          WHERE later.model = d.model AND later.version = d.version AND later.computed_at > d.computed_at)
            """);
        command.Bind("before", time.ToUniversalTime());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string Serialize(DriftResult result) => JsonSerializer.Serialize(result, ControlPlaneJson.Options);
}
