using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Audit;

/// <summary>
/// Appends to <c>audit_log</c> inside the transaction that makes the change, so a change and its audit
/// entry are committed together or not at all. The table refuses updates and deletes.
/// </summary>
internal static class AuditLog
{
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO audit_log (actor, action, model, target, before, after, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Actor });
        command.Parameters.Add(new NpgsqlParameter { Value = entry.Action });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Model ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Target ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(Json(entry.Before));
        command.Parameters.Add(Json(entry.After));
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = entry.Details is null ? "{}" : JsonSerializer.Serialize(entry.Details, ControlPlaneJson.Options),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Json(object? value) => new()
    {
        Value = value is null ? DBNull.Value : JsonSerializer.Serialize(value, ControlPlaneJson.Options),
        NpgsqlDbType = NpgsqlDbType.Jsonb,
    };
}
