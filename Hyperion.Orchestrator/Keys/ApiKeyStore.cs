using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Keys;

/// <summary>The <c>api_keys</c> table. Keys are found by the SHA-256 of the whole key; the key itself is never stored.</summary>
internal sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    // One expression for a key's state, so lists, lookups and revocation agree on what "active" means.
    private const string StateSql =
        "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END";

    private const string SummaryColumns =
        $"id, name, prefix, scopes, created_by, created_at, expires_at, revoked_at, rate_limit, bootstrap, {StateSql}, team, quota";

    /// <summary>The key's identity when it exists, is not revoked and has not expired; otherwise null.</summary>
    public async Task<KeyIdentity?> FindActiveAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT k.id, k.name, k.prefix, k.scopes, k.expires_at, k.rate_limit, k.team, k.quota, t.quota
            FROM api_keys k LEFT JOIN teams t ON t.name = k.team
            WHERE k.key_hash = @key_hash AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
            """);
        command.Bind("key_hash", keyHash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new KeyIdentity(
            Id: reader.GetGuid(0),
            Name: reader.GetString(1),
            Prefix: reader.GetString(2),
            Scopes: reader.GetFieldValue<string[]>(3),
            ExpiresAt: reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
            RateLimit: ReadRateLimit(reader, 5),
            Team: reader.IsDBNull(6) ? null : reader.GetString(6),
            Quota: Usage.QuotaStore.Read(reader, 7),
            TeamQuota: Usage.QuotaStore.Read(reader, 8));
    }

    /// <summary>Every key, newest first, without secrets.</summary>
    public async Task<IReadOnlyList<ApiKeySummary>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {SummaryColumns} FROM api_keys ORDER BY created_at DESC, id DESC");
        return await command.ReadAllAsync(reader => ReadSummary(reader), cancellationToken);
    }

    public async Task<ApiKeySummary?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {SummaryColumns} FROM api_keys WHERE id = @id");
        command.Bind("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadSummary(reader) : null;
    }

    /// <summary>Inserts a new key inside the caller's transaction; returns it with the key (to be shown once).</summary>
    public static async Task<InsertedApiKey> InsertAsync(Db db, NewApiKey key, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7();
        var secret = ApiKeyFormat.Generate();
        var prefix = ApiKeyFormat.PrefixOf(secret);
        await using var command = db.Command("""
            INSERT INTO api_keys (id, name, prefix, key_hash, scopes, rate_limit, created_by, expires_at, bootstrap, team)
            VALUES (@id, @name, @prefix, @key_hash, @scopes, @rate_limit, @created_by, @expires_at, @bootstrap, @team)
            RETURNING created_at
            """);
        command.Bind("id", id);
        command.Bind("name", key.Name);
        command.Bind("prefix", prefix);
        command.Bind("key_hash", ApiKeyFormat.Hash(secret));
        command.Bind("scopes", key.Scopes.ToArray());
        command.BindJson("rate_limit", key.RateLimit);
        command.Bind("created_by", key.CreatedBy);
        command.Bind("expires_at", key.ExpiresAt);
        command.Bind("bootstrap", key.Bootstrap);
        command.Bind("team", key.Team);
        var createdAt = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new InsertedApiKey(id, secret, prefix, new DateTimeOffset(createdAt, TimeSpan.Zero));
    }

    private static ApiKeySummary ReadSummary(NpgsqlDataReader reader) => new(
        Id: reader.GetGuid(0),
        Name: reader.GetString(1),
        Prefix: reader.GetString(2),
        Scopes: reader.GetFieldValue<string[]>(3),
        CreatedBy: reader.GetString(4),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(5),
        ExpiresAt: reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        RevokedAt: reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
        RateLimit: ReadRateLimit(reader, 8),
        Bootstrap: reader.GetBoolean(9),
        State: Enum.Parse<ApiKeyState>(reader.GetString(10), ignoreCase: true),
        Team: reader.IsDBNull(11) ? null : reader.GetString(11),
        Quota: Usage.QuotaStore.Read(reader, 12));

    private static RateLimitPlan? ReadRateLimit(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonSerializer.Deserialize<RateLimitPlan>(reader.GetString(ordinal), ControlPlaneJson.Options);
}

internal sealed record NewApiKey(
    string Name,
    IReadOnlyList<string> Scopes,
    DateTimeOffset? ExpiresAt,
    RateLimitPlan? RateLimit,
    string CreatedBy,
    bool Bootstrap = false,
    string? Team = null);

/// <param name="Key">The whole key: returned to the caller once, never stored or logged.</param>
internal sealed record InsertedApiKey(Guid Id, string Key, string Prefix, DateTimeOffset CreatedAt);
