using Hyperion.Orchestrator.Audit;
using Npgsql;

namespace Hyperion.Orchestrator.Keys;

/// <summary>Issues a key and audits it in one transaction. The audit entry names the key, never its secret or hash.</summary>
internal sealed partial class KeyIssuer(NpgsqlDataSource dataSource, ILogger<KeyIssuer> logger)
{
    public async Task<CreatedApiKey> IssueAsync(NewApiKey key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var inserted = await ApiKeyStore.InsertAsync(connection, transaction, key, cancellationToken);
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            key.CreatedBy,
            "key.created",
            null,
            $"key {inserted.Id}",
            After: new { inserted.Id, key.Name, key.Scopes, key.ExpiresAt, key.RateLimit }), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        LogIssued(logger, inserted.Id, key.Name, inserted.Prefix, key.CreatedBy);
        return new CreatedApiKey(inserted.Id, inserted.Key, key.Name, inserted.Prefix, key.Scopes, key.ExpiresAt, inserted.CreatedAt, key.RateLimit);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Key {KeyId} ({Name}, {Prefix}…) issued by {Actor}")]
    private static partial void LogIssued(ILogger logger, Guid keyId, string name, string prefix, string actor);
}
