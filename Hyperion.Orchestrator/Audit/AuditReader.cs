using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Audit;

/// <summary>
/// Reads the audit log newest first, by entry id: ids grow in the order entries are appended, so an id is a stable
/// paging cursor even when several entries share a timestamp (they do within one transaction).
/// </summary>
internal sealed class AuditReader(NpgsqlDataSource dataSource)
{
    public async Task<AuditPage> ReadAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var sql = new StringBuilder("SELECT id, occurred_at, actor, action, model, target, before, after, details FROM audit_log WHERE true");
        // Only the filters given: each condition names its parameter. Any action text is a filter: the log also holds
        // actions this version no longer writes.
        void Filter<T>(string condition, string name, T value)
        {
            if (value is not null)
            {
                command.Bind(name, value);
                sql.Append(" AND ").Append(condition);
            }
        }
        Filter("model = @model", "model", query.Model);
        Filter("action = @action", "action", query.Action);
        Filter("actor = @actor", "actor", query.Actor);
        Filter("occurred_at >= @since", "since", query.Since);
        Filter("occurred_at < @until", "until", query.Until);
        Filter("id < @before", "before", query.Before);
        // One more than asked for tells whether another page follows.
        sql.Append(" ORDER BY id DESC LIMIT ").Append(query.Limit + 1);
        command.CommandText = sql.ToString();

        var entries = new List<AuditLogEntry>(Math.Min(query.Limit + 1, 128));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditLogEntry(
                Id: reader.GetInt64(0),
                OccurredAt: reader.GetFieldValue<DateTimeOffset>(1),
                Actor: reader.GetString(2),
                Action: reader.GetString(3),
                Model: reader.IsDBNull(4) ? null : reader.GetString(4),
                Target: reader.IsDBNull(5) ? null : reader.GetString(5),
                Before: Json(reader, 6),
                After: Json(reader, 7),
                Details: Json(reader, 8)));
        }
        if (entries.Count <= query.Limit)
        {
            return new AuditPage(entries, null);
        }
        entries.RemoveAt(entries.Count - 1);
        return new AuditPage(entries, entries[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static JsonElement? Json(NpgsqlDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }
        using var document = JsonDocument.Parse(reader.GetString(ordinal));
        return document.RootElement.Clone();
    }
}

/// <param name="Next">Pass as <c>before</c> for the next (older) page; null on the last page.</param>
internal sealed record AuditPage(
    IReadOnlyList<AuditLogEntry> Entries,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Next);

/// <summary>One audit entry as <c>GET /api/v1/audit</c> answers it; absent values are null, not left out.</summary>
internal sealed record AuditLogEntry(
    long Id,
    DateTimeOffset OccurredAt,
    string Actor,
    string Action,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Target,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Before,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? After,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Details);
