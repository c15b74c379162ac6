using Npgsql;

namespace Hyperion.Orchestrator.Persistence;

/// <summary>
/// Brings the database schema up to date before the service takes requests. All pending migrations
/// run in one transaction under an advisory lock, so replicas starting together apply each exactly
/// once and a failure leaves the schema as it was.
/// </summary>
internal sealed partial class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger) : IHostedService
{
    // Any constant shared by every replica; "hyperion" in ASCII.
    private const long AdvisoryLockKey = 0x6879706572696f6e;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var migrations = Migration.LoadAll(typeof(MigrationRunner).Assembly);
        await ApplyAsync(dataSource, migrations, logger, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Applies what is missing; returns the versions applied by this call.</summary>
    internal static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, IReadOnlyList<Migration> migrations, ILogger logger, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);

        await ExecuteAsync(db, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        await ExecuteAsync(db, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken);

        var applied = new Dictionary<int, (string Name, string Checksum)>();
        await using (var select = db.Command("SELECT version, name, checksum FROM schema_migrations"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
            }
        }

        var appliedNow = new List<int>();
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Version, out var existing))
            {
                if (existing.Checksum != migration.Checksum)
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version:D4}_{migration.Name} was changed after it was applied. Add a new migration instead of editing an applied one.");
                }
                continue;
            }
            await ExecuteAsync(db, migration.Sql, cancellationToken);
            await using var record = db.Command("INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)");
            record.Bind("version", migration.Version);
            record.Bind("name", migration.Name);
            record.Bind("checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
            appliedNow.Add(migration.Version);
            LogApplied(logger, migration.Version, migration.Name);
        }
        await db.CommitAsync(cancellationToken);
        LogUpToDate(logger, migrations.Count == 0 ? 0 : migrations[^1].Version, appliedNow.Count);
        return appliedNow;
    }

    private static async Task ExecuteAsync(Db db, string sql, CancellationToken cancellationToken)
    {
        await using var command = db.Command(sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version}_{Name}")]
    private static partial void LogApplied(ILogger logger, int version, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema at version {Version} ({Applied} migrations applied now)")]
    private static partial void LogUpToDate(ILogger logger, int version, int applied);
}
