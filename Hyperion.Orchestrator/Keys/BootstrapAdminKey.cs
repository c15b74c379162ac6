using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// First start: issues an <c>admin</c> key and writes it to <see cref="OrchestratorOptions.AdminKeyPath"/> (mode 0600).
/// Later starts keep it. When the file was lost, the old bootstrap key is revoked and a new one written, since
/// only its hash is stored. The key is never logged.
/// </summary>
internal sealed partial class BootstrapAdminKey(
    NpgsqlDataSource dataSource,
    ApiKeyStore keys,
    KeyRevokedNotices notices,
    IOptions<OrchestratorOptions> options,
    ILogger<BootstrapAdminKey> logger) : IHostedService
{
    // Another advisory lock than the migrations': "hypadmin".
    private const long AdvisoryLockKey = 0x68797061646d696e;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var path = options.Value.AdminKeyPath;
        if (string.IsNullOrWhiteSpace(path))
        {
            LogNoAdminKeyPath(logger);
            return;
        }
        path = Path.GetFullPath(path);

        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var lockCommand = db.Command($"SELECT pg_advisory_xact_lock({AdvisoryLockKey})"))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        if (File.Exists(path))
        {
            var existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            if (ApiKeyFormat.LooksLikeKey(existing) && await keys.FindActiveAsync(ApiKeyFormat.Hash(existing), cancellationToken) is not null)
            {
                await db.CommitAsync(cancellationToken);
                LogKept(logger, path);
                return;
            }
        }

        var actor = ActorClaims.System("bootstrap");
        var revoked = await RevokeBootstrapKeysAsync(db, actor, cancellationToken);
        var inserted = await ApiKeyStore.InsertAsync(
            db,
            new NewApiKey(Name: "bootstrap-admin", Scopes: [Scopes.Admin], ExpiresAt: null, RateLimit: null, CreatedBy: actor, Bootstrap: true),
            cancellationToken);
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.KeyCreated,
            Model: null,
            Target: $"key {inserted.Id}",
            After: new { inserted.Id, name = "bootstrap-admin", scopes = new[] { Scopes.Admin } }), cancellationToken);

        // Written before the commit: if writing fails, no key exists that nobody can read.
        WriteOwnerOnly(path, inserted.Key);
        await db.CommitAsync(cancellationToken);
        LogIssued(logger, path);
        foreach (var (id, keyHash) in revoked)
        {
            await notices.PublishAsync(id, keyHash);
        }
    }

    /// <summary>Revokes the bootstrap keys whose file was lost (audited); returns their ids and hashes for the gateways' notice.</summary>
    private static async Task<List<(Guid Id, byte[] KeyHash)>> RevokeBootstrapKeysAsync(Db db, string actor, CancellationToken cancellationToken)
    {
        var revoked = new List<(Guid Id, byte[] KeyHash, DateTime RevokedAt)>();
        await using (var revoke = db.Command("UPDATE api_keys SET revoked_at = now() WHERE bootstrap AND revoked_at IS NULL RETURNING id, key_hash, revoked_at"))
        await using (var reader = await revoke.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                revoked.Add((reader.GetGuid(0), reader.GetFieldValue<byte[]>(1), reader.GetDateTime(2)));
            }
        }
        foreach (var (id, _, revokedAt) in revoked)
        {
            await AuditLog.AppendAsync(db, new AuditEntry(
                Actor: actor,
                Action: AuditAction.KeyRevoked,
                Model: null,
                Target: $"key {id}",
                Before: new { State = "active" },
                After: new { State = "revoked", RevokedAt = new DateTimeOffset(revokedAt, TimeSpan.Zero) },
                Details: new { Id = id, Name = "bootstrap-admin", Reason = "the admin key file was missing or held no valid key; a new bootstrap key replaces it" }),
                cancellationToken);
        }
        return [.. revoked.Select(key => (key.Id, key.KeyHash))];
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static void WriteOwnerOnly(string path, string secret)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        var streamOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, streamOptions))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(secret);
            writer.Write('\n');
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, path, overwrite: true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orchestrator:AdminKeyPath is not set: no bootstrap admin key is issued")]
    private static partial void LogNoAdminKeyPath(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bootstrap admin key in {Path} is valid")]
    private static partial void LogKept(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Issued the bootstrap admin key and wrote it to {Path} (mode 0600)")]
    private static partial void LogIssued(ILogger logger, string path);
}
