using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// Revokes a key: sets <c>revoked_at</c> (the row stays, for the audit trail), audits it in the same transaction and,
/// once committed, tells the gateways. Refuses to revoke the last active admin key, so nobody locks the control plane out.
/// </summary>
internal sealed partial class KeyRevoker(NpgsqlDataSource dataSource, KeyRevokedNotices notices, ILogger<KeyRevoker> logger)
{
    // Revocations take this lock so that two callers revoking the last two admin keys cannot both pass the check: "hypkeyrv".
    private const long AdvisoryLockKey = 0x6879706b65797276;

    public async Task<RevokeOutcome> RevokeAsync(Guid id, string actor, CancellationToken cancellationToken)
    {
        byte[] keyHash;
        RevokeOutcome outcome;
        await using (var db = await Db.BeginAsync(dataSource, cancellationToken))
        {
            await using (var lockCommand = db.Command($"SELECT pg_advisory_xact_lock({AdvisoryLockKey})"))
            {
                await lockCommand.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var find = db.Command("""
                SELECT name, scopes, key_hash, revoked_at IS NOT NULL, revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                FROM api_keys WHERE id = @id FOR UPDATE
                """);
            find.Bind("id", id);
            string name;
            string[] scopes;
            bool revoked;
            bool active;
            await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return RevokeOutcome.NotFound;
                }
                name = reader.GetString(0);
                scopes = reader.GetFieldValue<string[]>(1);
                keyHash = reader.GetFieldValue<byte[]>(2);
                revoked = reader.GetBoolean(3);
                active = reader.GetBoolean(4);
            }

            if (revoked)
            {
                outcome = RevokeOutcome.AlreadyRevoked;
            }
            else if (active && scopes.Contains(Scopes.Admin) && await CountOtherActiveAdminKeysAsync(db, id, cancellationToken) == 0)
            {
                return RevokeOutcome.LastAdminKey;
            }
            else
            {
                await using var revoke = db.Command("UPDATE api_keys SET revoked_at = now() WHERE id = @id RETURNING revoked_at");
                revoke.Bind("id", id);
                var revokedAt = (DateTime)(await revoke.ExecuteScalarAsync(cancellationToken))!;
                await AuditLog.AppendAsync(db, new AuditEntry(
                    Actor: actor,
                    Action: AuditAction.KeyRevoked,
                    Model: null,
                    Target: $"key {id}",
                    Before: new { State = active ? "active" : "expired", RevokedAt = (DateTimeOffset?)null },
                    After: new { State = "revoked", RevokedAt = new DateTimeOffset(revokedAt, TimeSpan.Zero) },
                    Details: new { Id = id, Name = name, Scopes = scopes }), cancellationToken);
                outcome = RevokeOutcome.Revoked;
            }
            await db.CommitAsync(cancellationToken);
        }

        if (outcome == RevokeOutcome.Revoked)
        {
            LogRevoked(logger, id, actor);
        }
        // Again for a key already revoked: a retry then repairs a notice lost while Redis was down.
        await notices.PublishAsync(id, keyHash);
        return outcome;
    }

    private static async Task<long> CountOtherActiveAdminKeysAsync(Db db, Guid id, CancellationToken cancellationToken)
    {
        await using var count = db.Command($"""
            SELECT count(*) FROM api_keys
            WHERE id <> @id AND '{Scopes.Admin}' = ANY (scopes) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """);
        count.Bind("id", id);
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Key {KeyId} revoked by {Actor}")]
    private static partial void LogRevoked(ILogger logger, Guid keyId, string actor);
}

internal enum RevokeOutcome
{
    Revoked,
    AlreadyRevoked,
    NotFound,
    LastAdminKey,
}
