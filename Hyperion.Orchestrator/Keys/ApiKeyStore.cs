using Hyperion.Contracts.ControlPlane;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Keys;

/// <summary>The <c>api_keys</c> table. Keys are found by the SHA-256 of the whole key; the key itself is never stored.</summary>
internal sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    /// <summary>The key's identity when it exists, is not revoked and has not expired; otherwise null.</summary>
    public async Task<KeyIdentity?> FindActiveAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, name, prefix, scopes, expires_at, rate_limit
            FROM api_keys
            WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyHash, NpgsqlDbType = NpgsqlDbType.Bytea });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new KeyIdentity(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetFieldValue<string[]>(3),
            reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : System.Text.Json.JsonSerializer.Deserialize<RateLimitPlan>(reader.GetString(5), ControlPlaneJson.Options));
    }

    /// <summary>Inserts a new key inside the caller's transaction; returns its id and the key (to be shown once).</summary>
    public static async Task<(Guid Id, string Key)> InsertAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        NewApiKey key,
        CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7();
        var secret = ApiKeyFormat.Generate();
        await using var command = new NpgsqlCommand("""
            INSERT INTO api_keys (id, name, prefix, key_hash, scopes, rate_limit, created_by, expires_at, bootstrap)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = ApiKeyFormat.PrefixOf(secret) });
        command.Parameters.Add(new NpgsqlParameter { Value = ApiKeyFormat.Hash(secret), NpgsqlDbType = NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Scopes.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = key.RateLimit is null ? DBNull.Value : System.Text.Json.JsonSerializer.Serialize(key.RateLimit, ControlPlaneJson.Options),
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        command.Parameters.Add(new NpgsqlParameter { Value = key.CreatedBy });
        command.Parameters.Add(new NpgsqlParameter { Value = key.ExpiresAt is { } expires ? expires : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Bootstrap });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return (id, secret);
    }
}

internal sealed record NewApiKey(
    string Name,
    IReadOnlyList<string> Scopes,
    DateTimeOffset? ExpiresAt,
    RateLimitPlan? RateLimit,
    string CreatedBy,
    bool Bootstrap = false);
