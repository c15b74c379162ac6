using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// The <c>models</c> and <c>model_versions</c> tables. Every change is written with its audit entry in one
/// transaction.
/// </summary>
internal sealed class RegistryStore(NpgsqlDataSource dataSource)
{
    private const string ModelColumns = """
        m.name, m.task, m.description, m.tags, m.owner, m.created_at, m.updated_at,
        (SELECT count(*) FROM model_versions v WHERE v.model = m.name),
        (SELECT max(v.version) FROM model_versions v WHERE v.model = m.name),
        m.require_approval, m.team
        """;

    internal const string VersionColumns =
        "model, version, digest, size_bytes, format, config, signature, lineage, baseline_profile, created_by, created_at, stage";

    /// <summary>Inserts the model; null when the name is taken.</summary>
    public async Task<ModelResource?> CreateModelAsync(
        string name, string task, string description, IReadOnlyDictionary<string, string> tags, string? team, string owner, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var insert = db.Command("""
            INSERT INTO models (name, task, description, tags, owner, team) VALUES (@name, @task, @description, @tags, @owner, @team)
            ON CONFLICT (name) DO NOTHING
            """))
        {
            insert.Bind("name", name);
            insert.Bind("task", task);
            insert.Bind("description", description);
            insert.BindJsonText("tags", JsonSerializer.Serialize(tags));
            insert.Bind("owner", owner);
            insert.Bind("team", team);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null;
            }
        }
        var model = (await ReadModelAsync(db, name, cancellationToken))!;
        await AuditLog.AppendAsync(db, new AuditEntry(Actor: owner, Action: AuditAction.ModelCreated, Model: name, Target: null, After: model), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return model;
    }

    /// <summary>Changes description and/or tags; null when there is no such model.</summary>
    public async Task<ModelResource?> UpdateModelAsync(
        string name, string? description, IReadOnlyDictionary<string, string>? tags, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var before = await ReadModelAsync(db, name, cancellationToken, forUpdate: true);
        if (before is null)
        {
            return null;
        }
        await using (var update = db.Command("""
            UPDATE models SET description = coalesce(@description, description), tags = coalesce(@tags, tags), updated_at = now()
            WHERE name = @name
            """))
        {
            update.Bind("name", name);
            update.Bind("description", description);
            update.BindJsonText("tags", tags is null ? null : JsonSerializer.Serialize(tags));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        var after = (await ReadModelAsync(db, name, cancellationToken))!;
        await AuditLog.AppendAsync(db, new AuditEntry(Actor: actor, Action: AuditAction.ModelUpdated, Model: name, Target: null, Before: before, After: after), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return after;
    }

    /// <summary>Models by name; <paramref name="tags"/> must all match (key and value), <paramref name="tagKeys"/> must all be present.</summary>
    public async Task<List<ModelResource>> ListModelsAsync(
        IReadOnlyDictionary<string, string> tags, IReadOnlyList<string> tagKeys, string? task, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {ModelColumns} FROM models m
            WHERE (@tags::jsonb IS NULL OR m.tags @> @tags::jsonb)
              AND (@tag_keys::text[] IS NULL OR m.tags ?& @tag_keys::text[])
              AND (@task::text IS NULL OR m.task = @task::text)
            ORDER BY m.name
            """);
        command.BindJsonText("tags", tags.Count == 0 ? null : JsonSerializer.Serialize(tags));
        command.Bind("tag_keys", tagKeys.Count == 0 ? null : tagKeys.ToArray());
        command.Bind("task", task);
        return await command.ReadAllAsync(reader => ReadModel(reader), cancellationToken);
    }

    public async Task<ModelResource?> GetModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        return await ReadModelAsync(db, name, cancellationToken);
    }

    /// <summary>The model's versions, newest first; null when there is no such model.</summary>
    public async Task<List<VersionSummary>?> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT v.version, v.digest, v.size_bytes, v.created_by, v.created_at, v.stage
            FROM models m LEFT JOIN model_versions v ON v.model = m.name
            WHERE m.name = @model
            ORDER BY v.version DESC
            """);
        command.Bind("model", model);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        List<VersionSummary>? versions = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            versions ??= [];
            if (!reader.IsDBNull(0))
            {
                versions.Add(new VersionSummary(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), ParseStage(reader.GetString(5))));
            }
        }
        return versions;
    }

    public async Task<VersionResource?> GetVersionAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {VersionColumns} FROM model_versions WHERE model = @model AND version = @version");
        command.Bind("model", model);
        command.Bind("version", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader) : null;
    }

    /// <summary>
    /// Inserts the next version of the model with its audit entry. Numbers come from the model row
    /// (<c>models.last_version</c>), whose update serialises concurrent registrations of one model, so they are
    /// distinct, consecutive, and never those of a deleted version. Null when there is no such model.
    /// </summary>
    public async Task<VersionResource?> RegisterVersionAsync(NewVersion version, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        long number;
        await using (var next = db.Command("UPDATE models SET last_version = last_version + 1, updated_at = now() WHERE name = @model RETURNING last_version"))
        {
            next.Bind("model", version.Model);
            if (await next.ExecuteScalarAsync(cancellationToken) is not long assigned)
            {
                return null;
            }
            number = assigned;
        }
        VersionResource registered;
        await using (var insert = db.Command($"""
            INSERT INTO model_versions (model, version, digest, size_bytes, format, config, signature, lineage, baseline_profile, created_by)
            VALUES (@model, @version, @digest, @size_bytes, @format, @config, @signature, @lineage, @baseline_profile, @created_by)
            RETURNING {VersionColumns}
            """))
        {
            insert.Bind("model", version.Model);
            insert.Bind("version", number);
            insert.Bind("digest", version.Digest);
            insert.Bind("size_bytes", version.SizeBytes);
            insert.Bind("format", version.Format);
            insert.BindJsonText("config", version.ConfigJson);
            insert.BindJsonText("signature", version.SignatureJson);
            insert.BindJsonText("lineage", version.LineageJson);
            insert.BindJsonText("baseline_profile", version.BaselineProfileJson);
            insert.Bind("created_by", version.CreatedBy);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            registered = ReadVersion(reader);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: version.CreatedBy,
            Action: AuditAction.VersionRegistered,
            Model: version.Model,
            Target: $"version {registered.Version}",
            After: new { registered.Version, registered.Digest, registered.SizeBytes, registered.Format, registered.Config, registered.Lineage }),
            cancellationToken);
        await db.CommitAsync(cancellationToken);
        return registered;
    }

    internal static async Task<ModelResource?> ReadModelAsync(Db db, string name, CancellationToken cancellationToken, bool forUpdate = false)
    {
        await using var command = db.Command($"SELECT {ModelColumns} FROM models m WHERE m.name = @name{(forUpdate ? " FOR UPDATE" : "")}");
        command.Bind("name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadModel(reader) : null;
    }

    private static ModelResource ReadModel(NpgsqlDataReader reader) => new(
        Name: reader.GetString(0),
        Task: reader.GetString(1),
        Description: reader.GetString(2),
        Tags: JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(3)) ?? [],
        Owner: reader.GetString(4),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(5),
        UpdatedAt: reader.GetFieldValue<DateTimeOffset>(6),
        VersionCount: reader.GetInt64(7),
        LatestVersion: reader.IsDBNull(8) ? null : reader.GetInt64(8),
        Policy: new ModelPolicy(RequireApproval: reader.GetBoolean(9)),
        Team: reader.IsDBNull(10) ? null : reader.GetString(10));

    public static VersionStage ParseStage(string stage) => StoredNames<VersionStage>.Parse(stage, "model_versions.stage");

    internal static VersionResource ReadVersion(NpgsqlDataReader reader) => new(
        Model: reader.GetString(0),
        Version: reader.GetInt64(1),
        Digest: reader.GetString(2),
        SizeBytes: reader.GetInt64(3),
        Format: reader.GetString(4),
        Config: JsonNode.Parse(reader.GetString(5))!,
        Signature: JsonNode.Parse(reader.GetString(6))!,
        Lineage: JsonNode.Parse(reader.GetString(7))!,
        BaselineProfile: reader.IsDBNull(8) ? null : JsonNode.Parse(reader.GetString(8)),
        CreatedBy: reader.GetString(9),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(10),
        Stage: ParseStage(reader.GetString(11)));
}
