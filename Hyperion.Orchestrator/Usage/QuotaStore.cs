using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Usage;

/// <summary>What a quota belongs to.</summary>
internal enum QuotaOwner
{
    Key,
    Team,
}

/// <summary>Quotas on keys (<c>api_keys.quota</c>) and teams (<c>teams.quota</c>), each change audited in its transaction.</summary>
internal sealed class QuotaStore(NpgsqlDataSource dataSource)
{
    /// <summary>Sets (or with an empty quota, removes) the quota; false when there is no such key or team.</summary>
    public async Task<bool> SetAsync(QuotaOwner owner, string id, UsageQuota quota, string actor, CancellationToken cancellationToken)
    {
        var (table, column, target) = owner == QuotaOwner.Key ? ("api_keys", "id", $"key {id}") : ("teams", "name", $"team {id}");
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        UsageQuota? before;
        await using (var find = db.Command($"SELECT quota FROM {table} WHERE {column} = @id FOR UPDATE"))
        {
            if (owner == QuotaOwner.Key)
            {
                find.Bind("id", Guid.Parse(id));
            }
            else
            {
                find.Bind("id", id);
            }
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }
            before = Read(reader, 0);
        }
        var after = quota.IsEmpty ? null : quota;
        if (before == after)
        {
            await db.CommitAsync(cancellationToken);
            return true;
        }
        await using (var update = db.Command($"UPDATE {table} SET quota = @quota WHERE {column} = @id"))
        {
            if (owner == QuotaOwner.Key)
            {
                update.Bind("id", Guid.Parse(id));
            }
            else
            {
                update.Bind("id", id);
            }
            update.BindJson("quota", after);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: owner == QuotaOwner.Key ? AuditAction.KeyQuotaChanged : AuditAction.TeamQuotaChanged,
            Model: null,
            Target: target,
            Before: new { Quota = before },
            After: new { Quota = after }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return true;
    }

    public static UsageQuota? Read(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonSerializer.Deserialize<UsageQuota>(reader.GetString(ordinal), ControlPlaneJson.Options);
}
