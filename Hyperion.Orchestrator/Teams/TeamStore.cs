using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Teams;

/// <summary>The <c>teams</c> table and the <c>team</c> columns of models and keys; every change audited in its transaction.</summary>
internal sealed class TeamStore(NpgsqlDataSource dataSource)
{
    private const string ActiveKeysSql =
        "(SELECT count(*) FROM api_keys k WHERE k.team = t.name AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))";

    /// <summary>Inserts the team; null when the name is taken.</summary>
    public async Task<TeamResource?> CreateAsync(string name, string description, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using var insert = db.Command("""
            INSERT INTO teams (name, description, created_by) VALUES (@name, @description, @created_by)
            ON CONFLICT (name) DO NOTHING
            RETURNING created_at
            """);
        insert.Bind("name", name);
        insert.Bind("description", description);
        insert.Bind("created_by", actor);
        if (await insert.ExecuteScalarAsync(cancellationToken) is not DateTime createdAt)
        {
            return null;
        }
        var team = new TeamResource(name, description, actor, new DateTimeOffset(createdAt, TimeSpan.Zero), Models: 0, ActiveKeys: 0, Quota: null);
        await AuditLog.AppendAsync(db, new AuditEntry(Actor: actor, Action: AuditAction.TeamCreated, Model: null, Target: $"team {name}", After: team), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return team;
    }

    public async Task<IReadOnlyList<TeamResource>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT t.name, t.description, t.created_by, t.created_at,
                   (SELECT count(*) FROM models m WHERE m.team = t.name), {ActiveKeysSql}, t.quota
            FROM teams t ORDER BY t.name
            """);
        return await command.ReadAllAsync(reader => new TeamResource(
            reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4), reader.GetInt64(5),
            Usage.QuotaStore.Read(reader, 6)), cancellationToken);
    }

    public async Task<TeamDetail?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT t.name, t.description, t.created_by, t.created_at, {ActiveKeysSql},
                   coalesce((SELECT array_agg(m.name ORDER BY m.name) FROM models m WHERE m.team = t.name), ARRAY[]::text[]), t.quota
            FROM teams t WHERE t.name = @name
            """);
        command.Bind("name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new TeamDetail(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4), reader.GetFieldValue<string[]>(5),
                Usage.QuotaStore.Read(reader, 6))
            : null;
    }

    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM teams WHERE name = @name)");
        command.Bind("name", name);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The names among <paramref name="names"/> that are no team.</summary>
    public async Task<IReadOnlyList<string>> MissingAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        if (names.Count == 0)
        {
            return [];
        }
        await using var command = dataSource.CreateCommand("SELECT n FROM unnest(@names::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM teams WHERE name = n) ORDER BY n");
        command.Bind("names", names.ToArray());
        return await command.ReadAllAsync(reader => reader.GetString(0), cancellationToken);
    }

    public async Task<ModelOwnership> OwnershipAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT team FROM models WHERE name = @name");
        command.Bind("name", model);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new ModelOwnership(true, reader.IsDBNull(0) ? null : reader.GetString(0)) : default;
    }

    /// <summary>Model → team for every model that has one (the gateway's routing table carries it).</summary>
    public async Task<IReadOnlyDictionary<string, string>> ModelTeamsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT name, team FROM models WHERE team IS NOT NULL");
        var pairs = await command.ReadAllAsync(reader => (reader.GetString(0), reader.GetString(1)), cancellationToken);
        return pairs.ToDictionary(pair => pair.Item1, pair => pair.Item2, StringComparer.Ordinal);
    }

    /// <summary>Moves a model to <paramref name="team"/> (null: no team); null when there is no such model.</summary>
    public async Task<(ModelTeam Result, bool Changed)?> SetModelTeamAsync(string model, string? team, string? reason, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        string? before;
        await using (var find = db.Command("SELECT team FROM models WHERE name = @name FOR UPDATE"))
        {
            find.Bind("name", model);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            before = reader.IsDBNull(0) ? null : reader.GetString(0);
        }
        if (string.Equals(before, team, StringComparison.Ordinal))
        {
            return (new ModelTeam(model, team), false);
        }
        await using (var update = db.Command("UPDATE models SET team = @team, updated_at = now() WHERE name = @name"))
        {
            update.Bind("name", model);
            update.Bind("team", team);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.ModelTeamChanged,
            Model: model,
            Target: null,
            Before: new { Team = before },
            After: new { Team = team },
            Details: reason is null ? null : new { Reason = reason }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return (new ModelTeam(model, team), true);
    }
}
