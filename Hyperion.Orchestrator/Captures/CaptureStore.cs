using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Captures;

/// <summary>The <c>captures</c> table: batches written in one statement, retention, and the recent captures a model's page lists.</summary>
internal sealed class CaptureStore(NpgsqlDataSource dataSource)
{
    /// <summary>Each model's monitoring as its current deployment revision has it; models without (no deployment, no monitoring) are absent.</summary>
    public async Task<Dictionary<string, MonitoringSpec>> MonitoringOfAsync(IReadOnlyCollection<string> models, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT d.model, r.spec -> 'monitoring'
            FROM deployments d
            JOIN deployment_revisions r ON r.model = d.model AND r.revision = d.revision
            WHERE d.model = ANY(@models) AND jsonb_typeof(r.spec -> 'monitoring') = 'object'
            """);
        command.Bind("models", models.ToArray());
        var found = new Dictionary<string, MonitoringSpec>(StringComparer.Ordinal);
        foreach (var (model, json) in await command.ReadAllAsync(reader => (reader.GetString(0), reader.GetString(1)), cancellationToken))
        {
            found[model] = JsonSerializer.Deserialize<MonitoringSpec>(json, ControlPlaneJson.Options)
                ?? throw new InvalidDataException($"deployment_revisions.spec of '{model}' has a null monitoring");
        }
        return found;
    }

    /// <summary>
    /// Inserts the batch in one statement; a capture already stored (the same request id and arm, e.g. an entry read
    /// again after a crash between the insert and the acknowledgement) is skipped. Returns how many were new.
    /// </summary>
    public async Task<int> InsertAsync(IReadOnlyList<CaptureRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        await using var command = dataSource.CreateCommand("""
            INSERT INTO captures (model, version, arm, request_id, oip_id, captured_at, rows, inputs, outputs, payload)
            SELECT model, version, arm, request_id, oip_id, to_timestamp(captured_ms / 1000.0), rows, inputs::jsonb, outputs::jsonb, payload::jsonb
            FROM unnest(@models::text[], @versions::bigint[], @arms::text[], @request_ids::text[], @oip_ids::text[],
                        @captured_ms::bigint[], @rows::integer[], @inputs::text[], @outputs::text[], @payloads::text[])
                 AS batch (model, version, arm, request_id, oip_id, captured_ms, rows, inputs, outputs, payload)
            ON CONFLICT (request_id, arm) DO NOTHING
            """);
        command.Bind("models", rows.Select(row => row.Model).ToArray());
        command.Bind("versions", rows.Select(row => row.Version).ToArray());
        command.Bind("arms", rows.Select(row => row.Arm).ToArray());
        command.Bind("request_ids", rows.Select(row => row.RequestId).ToArray());
        command.Bind("oip_ids", rows.Select(row => row.Parsed.OipId).ToArray());
        command.Bind("captured_ms", rows.Select(row => row.CapturedAtMs).ToArray());
        command.Bind("rows", rows.Select(row => row.Parsed.Rows).ToArray());
        command.Bind("inputs", rows.Select(row => row.Parsed.Inputs).ToArray());
        command.Bind("outputs", rows.Select(row => row.Parsed.Outputs).ToArray());
        command.Bind("payloads", rows.Select(row => row.Parsed.Payload).ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Deletes up to <paramref name="limit"/> captures older than their model's <c>retention_days</c> (a model whose
    /// deployment has no monitoring any more: <paramref name="defaultDays"/>). Returns how many were deleted.
    /// </summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, int defaultDays, int limit, CancellationToken cancellationToken)
    {
        // Retention is at least one day, so only rows older than that are looked at (captures_time).
        await using var command = dataSource.CreateCommand("""
            DELETE FROM captures
            WHERE id IN (
                SELECT c.id
                FROM captures c
                LEFT JOIN (
                    SELECT d.model, (r.spec -> 'monitoring' ->> 'retention_days')::integer AS days
                    FROM deployments d
                    JOIN deployment_revisions r ON r.model = d.model AND r.revision = d.revision
                ) retention ON retention.model = c.model
                WHERE c.captured_at < @now - interval '1 day'
                  AND c.captured_at < @now - make_interval(days => COALESCE(retention.days, @default_days))
                LIMIT @limit)
            """);
        command.Bind("now", now);
        command.Bind("default_days", defaultDays);
        command.Bind("limit", limit);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM models WHERE name = @model)");
        command.Bind("model", model);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The newest captures of a model (of one version when given), newest first.</summary>
    public async Task<List<CaptureView>> RecentAsync(string model, long? version, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT version, arm, request_id, oip_id, captured_at, rows, inputs::text, outputs::text, payload::text
            FROM captures
            WHERE model = @model AND (@version::bigint IS NULL OR version = @version)
            ORDER BY captured_at DESC, id DESC
            LIMIT @limit
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        command.Bind("limit", limit);
        return await command.ReadAllAsync(reader => new CaptureView(
            Version: reader.GetInt64(0),
            Arm: reader.GetString(1),
            RequestId: reader.GetString(2),
            OipId: reader.IsDBNull(3) ? null : reader.GetString(3),
            CapturedAt: reader.GetFieldValue<DateTimeOffset>(4),
            Rows: reader.GetInt32(5),
            Inputs: JsonElementOf(reader.GetString(6)),
            Outputs: JsonElementOf(reader.GetString(7)),
            Payload: reader.IsDBNull(8) ? null : JsonElementOf(reader.GetString(8))), cancellationToken);
    }

    private static JsonElement JsonElementOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>One stream entry, read and parsed, ready to insert.</summary>
/// <param name="CapturedAtMs">When the gateway had the answer, Unix milliseconds.</param>
internal sealed record CaptureRow(string Model, long Version, string Arm, string RequestId, long CapturedAtMs, ParsedCapture Parsed);
