using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Audit;
using Npgsql;
using NpgsqlTypes;

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
        (SELECT max(v.version) FROM model_versions v WHERE v.model = m.name)
        """;

    private const string VersionColumns =
        "model, version, digest, size_bytes, format, config, signature, lineage, baseline_profile, created_by, created_at";

    /// <summary>Inserts the model; null when the name is taken.</summary>
    public async Task<ModelResource?> CreateModelAsync(
        string name, string task, string description, IReadOnlyDictionary<string, string> tags, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO models (name, task, description, tags, owner) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = name });
            insert.Parameters.Add(new NpgsqlParameter { Value = task });
            insert.Parameters.Add(new NpgsqlParameter { Value = description });
            insert.Parameters.Add(Jsonb(JsonSerializer.Serialize(tags)));
            insert.Parameters.Add(new NpgsqlParameter { Value = owner });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return null;
            }
        }
        var model = (await ReadModelAsync(connection, transaction, name, cancellationToken))!;
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(owner, "model.created", name, null, After: model), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return model;
    }

    /// <summary>Changes description and/or tags; null when there is no such model.</summary>
    public async Task<ModelResource?> UpdateModelAsync(
        string name, string? description, IReadOnlyDictionary<string, string>? tags, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var before = await ReadModelAsync(connection, transaction, name, cancellationToken, forUpdate: true);
        if (before is null)
        {
            return null;
        }
        await using (var update = new NpgsqlCommand("""
            UPDATE models SET description = coalesce($2, description), tags = coalesce($3, tags), updated_at = now()
            WHERE name = $1
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = name });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(Jsonb(tags is null ? null : JsonSerializer.Serialize(tags)));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        var after = (await ReadModelAsync(connection, transaction, name, cancellationToken))!;
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(actor, "model.updated", name, null, before, after), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return after;
    }

    /// <summary>Models by name; <paramref name="tags"/> must all match (key and value), <paramref name="tagKeys"/> must all be present.</summary>
    public async Task<List<ModelResource>> ListModelsAsync(
        IReadOnlyDictionary<string, string> tags, IReadOnlyList<string> tagKeys, string? task, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {ModelColumns} FROM models m
            WHERE ($1::jsonb IS NULL OR m.tags @> $1::jsonb)
              AND ($2::text[] IS NULL OR m.tags ?& $2::text[])
              AND ($3::text IS NULL OR m.task = $3::text)
            ORDER BY m.name
            """);
        command.Parameters.Add(Jsonb(tags.Count == 0 ? null : JsonSerializer.Serialize(tags)));
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = tagKeys.Count == 0 ? DBNull.Value : tagKeys.ToArray(),
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
        });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)task ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var models = new List<ModelResource>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            models.Add(ReadModel(reader));
        }
        return models;
    }

    public async Task<ModelResource?> GetModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadModelAsync(connection, null, name, cancellationToken);
    }

    /// <summary>The model's versions, newest first; null when there is no such model.</summary>
    public async Task<List<VersionSummary>?> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT v.version, v.digest, v.size_bytes, v.created_by, v.created_at
            FROM models m LEFT JOIN model_versions v ON v.model = m.name
            WHERE m.name = $1
            ORDER BY v.version DESC
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        List<VersionSummary>? versions = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            versions ??= [];
            if (!reader.IsDBNull(0))
            {
                versions.Add(new VersionSummary(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }
        return versions;
    }

    public async Task<VersionResource?> GetVersionAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {VersionColumns} FROM model_versions WHERE model = $1 AND version = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadVersion(reader) : null;
    }

    /// <summary>
    /// Inserts the next version of the model with its audit entry. The model row is locked first, so concurrent
    /// registrations of one model get distinct, consecutive numbers. Null when there is no such model.
    /// </summary>
    public async Task<VersionResource?> RegisterVersionAsync(NewVersion version, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockModel = new NpgsqlCommand("SELECT 1 FROM models WHERE name = $1 FOR UPDATE", connection, transaction))
        {
            lockModel.Parameters.Add(new NpgsqlParameter { Value = version.Model });
            if (await lockModel.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }
        }
        VersionResource registered;
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO model_versions (model, version, digest, size_bytes, format, config, signature, lineage, baseline_profile, created_by)
            SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 FROM model_versions WHERE model = $1
            RETURNING {VersionColumns}
            """, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = version.Model });
            insert.Parameters.Add(new NpgsqlParameter { Value = version.Digest });
            insert.Parameters.Add(new NpgsqlParameter { Value = version.SizeBytes });
            insert.Parameters.Add(new NpgsqlParameter { Value = version.Format });
            insert.Parameters.Add(Jsonb(version.ConfigJson));
            insert.Parameters.Add(Jsonb(version.SignatureJson));
            insert.Parameters.Add(Jsonb(version.LineageJson));
            insert.Parameters.Add(Jsonb(version.BaselineProfileJson));
            insert.Parameters.Add(new NpgsqlParameter { Value = version.CreatedBy });
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            registered = ReadVersion(reader);
        }
        await using (var touch = new NpgsqlCommand("UPDATE models SET updated_at = now() WHERE name = $1", connection, transaction))
        {
            touch.Parameters.Add(new NpgsqlParameter { Value = version.Model });
            await touch.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            version.CreatedBy,
            "version.registered",
            version.Model,
            $"version {registered.Version}",
            After: new { registered.Version, registered.Digest, registered.SizeBytes, registered.Format, registered.Config, registered.Lineage }),
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return registered;
    }

    private static async Task<ModelResource?> ReadModelAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string name, CancellationToken cancellationToken, bool forUpdate = false)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {ModelColumns} FROM models m WHERE m.name = $1{(forUpdate ? " FOR UPDATE" : "")}", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadModel(reader) : null;
    }

    private static ModelResource ReadModel(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(3)) ?? [],
        reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetFieldValue<DateTimeOffset>(6),
        reader.GetInt64(7),
        reader.IsDBNull(8) ? null : reader.GetInt64(8));

    private static VersionResource ReadVersion(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt64(1),
        reader.GetString(2),
        reader.GetInt64(3),
        reader.GetString(4),
        JsonNode.Parse(reader.GetString(5))!,
        JsonNode.Parse(reader.GetString(6))!,
        JsonNode.Parse(reader.GetString(7))!,
        reader.IsDBNull(8) ? null : JsonNode.Parse(reader.GetString(8)),
        reader.GetString(9),
        reader.GetFieldValue<DateTimeOffset>(10));

    private static NpgsqlParameter Jsonb(string? json) => new()
    {
        Value = (object?)json ?? DBNull.Value,
        NpgsqlDbType = NpgsqlDbType.Jsonb,
    };
}
