using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Keys;

/// <summary>Issues a key and audits it in one transaction. The audit entry names the key, never its secret or hash.</summary>
internal sealed partial class KeyIssuer(NpgsqlDataSource dataSource, ILogger<KeyIssuer> logger)
{
    public async Task<CreatedApiKey> IssueAsync(NewApiKey key, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var inserted = await ApiKeyStore.InsertAsync(db, key, cancellationToken);
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: key.CreatedBy,
            Action: AuditAction.KeyCreated,
            Model: null,
            Target: $"key {inserted.Id}",
            After: new { inserted.Id, key.Name, key.Scopes, key.ExpiresAt, key.RateLimit, key.Team }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        LogIssued(logger, inserted.Id, key.Name, inserted.Prefix, key.CreatedBy);
        return new CreatedApiKey(
            Id: inserted.Id,
            Key: inserted.Key,
            Name: key.Name,
            Prefix: inserted.Prefix,
            Scopes: key.Scopes,
            ExpiresAt: key.ExpiresAt,
            CreatedAt: inserted.CreatedAt,
            RateLimit: key.RateLimit,
            Team: key.Team);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Key {KeyId} ({Name}, {Prefix}…) issued by {Actor}")]
    private static partial void LogIssued(ILogger logger, Guid keyId, string name, string prefix, string actor);
}
