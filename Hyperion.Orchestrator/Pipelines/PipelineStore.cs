using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// <c>pipelines</c> and <c>pipeline_revisions</c>: every change is a new, immutable revision (its spec as PUT and the
/// plan the gateway runs) and the pipeline points at it, written with its audit entry in one transaction under a
/// per-pipeline advisory lock, as <see cref="Deployments.DeploymentStore"/> writes deployments. The check against the
/// registry runs inside that transaction, so the revision matches the registry it was checked against.
/// </summary>
internal sealed class PipelineStore(NpgsqlDataSource dataSource)
{
    public async Task<PipelinePutResult> PutAsync(string name, PipelineRequest request, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var lockCommand = db.Command("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.pipeline:' || @name, 0))"))
        {
            lockCommand.Bind("name", name);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        var models = (request.Steps ?? []).Select(step => step?.Model).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var registry = await ReadRegistryAsync(db, models, cancellationToken);
        if (PipelineValidator.Validate(request, registry, out var errors) is not { } pipeline)
        {
            return new PipelinePutResult(PipelinePutStatus.Invalid, null, errors);
        }
        if (await PinnedVersionProblemsAsync(db, pipeline.Spec, cancellationToken) is { Count: > 0 } pinned)
        {
            return new PipelinePutResult(PipelinePutStatus.Invalid, null, pinned);
        }

        var current = (await ReadAsync(db, name, revision: null, cancellationToken)).SingleOrDefault();
        if (current is not null && Canonical(current.Spec) == Canonical(pipeline.Spec))
        {
            return new PipelinePutResult(PipelinePutStatus.Unchanged, current, null);
        }

        long revision;
        await using (var next = db.Command("SELECT coalesce(max(revision), 0) + 1 FROM pipeline_revisions WHERE pipeline = @name"))
        {
            next.Bind("name", name);
            revision = (long)(await next.ExecuteScalarAsync(cancellationToken))!;
        }
        await using (var insert = db.Command("INSERT INTO pipeline_revisions (pipeline, revision, spec, plan, created_by) VALUES (@name, @revision, @spec, @plan, @actor)"))
        {
            insert.Bind("name", name);
            insert.Bind("revision", revision);
            insert.BindJson("spec", pipeline.Spec);
            insert.BindJson("plan", new PipelineRoute(name, revision, pipeline.Steps, pipeline.Outputs));
            insert.Bind("actor", actor);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var point = db.Command("""
            INSERT INTO pipelines (name, revision) VALUES (@name, @revision)
            ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, updated_at = now()
            """))
        {
            point.Bind("name", name);
            point.Bind("revision", revision);
            await point.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: current is null ? AuditAction.PipelineCreated : AuditAction.PipelineUpdated,
            Model: null,
            Target: Target(name),
            Before: current?.Spec,
            After: pipeline.Spec,
            Details: new { pipeline = name, revision, previous_revision = current?.Revision }), cancellationToken);
        var written = (await ReadAsync(db, name, revision, cancellationToken)).Single();
        await db.CommitAsync(cancellationToken);
        return new PipelinePutResult(current is null ? PipelinePutStatus.Created : PipelinePutStatus.Updated, written, null);
    }

    /// <summary>Removes the pipeline (its revisions stay, for history and a later PUT's numbering); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string name, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        PipelineRecord? current;
        await using (var delete = db.Command("DELETE FROM pipelines WHERE name = @name RETURNING revision"))
        {
            delete.Bind("name", name);
            if (await delete.ExecuteScalarAsync(cancellationToken) is not long revision)
            {
                return false;
            }
            current = (await ReadRevisionAsync(db, name, revision, cancellationToken))!;
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.PipelineDeleted,
            Model: null,
            Target: Target(name),
            Before: current.Spec,
            Details: new { pipeline = name, revision = current.Revision }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The pipeline at its current revision, or at <paramref name="revision"/>; null when the pipeline does not exist (or was deleted) or has no such revision.</summary>
    public async Task<PipelineRecord?> GetAsync(string name, long? revision, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        return (await ReadAsync(db, name, revision, cancellationToken)).SingleOrDefault();
    }

    /// <summary>Every pipeline at its current revision, by name.</summary>
    public async Task<List<PipelineRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        return await ReadAsync(db, name: null, revision: null, cancellationToken);
    }

    /// <summary>Every revision of an existing pipeline, newest first; null when it does not exist.</summary>
    public async Task<List<PipelineRecord>?> RevisionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command($"""
            SELECT {Columns} FROM pipelines p JOIN pipeline_revisions r ON r.pipeline = p.name
            WHERE p.name = @name ORDER BY r.revision DESC
            """);
        command.Bind("name", name);
        var revisions = await command.ReadAllAsync(Read, cancellationToken);
        return revisions.Count == 0 ? null : revisions;
    }

    /// <summary>The plans of every pipeline's current revision, for the routing table.</summary>
    public async Task<List<PipelineRoute>> RoutesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT r.plan::text FROM pipelines p JOIN pipeline_revisions r ON r.pipeline = p.name AND r.revision = p.revision ORDER BY p.name
            """);
        return await command.ReadAllAsync(reader => JsonSerializer.Deserialize<PipelineRoute>(reader.GetString(0), ControlPlaneJson.Options)!, cancellationToken);
    }

    private const string Columns = "p.name, r.revision, r.spec::text, r.created_by, r.created_at, p.created_at, p.updated_at, r.revision = p.revision";

    /// <param name="name">Null: every pipeline.</param>
    /// <param name="revision">Null: the current revision.</param>
    private static async Task<List<PipelineRecord>> ReadAsync(Db db, string? name, long? revision, CancellationToken cancellationToken)
    {
        await using var command = db.Command($"""
            SELECT {Columns}
            FROM pipelines p
            JOIN pipeline_revisions r ON r.pipeline = p.name AND r.revision = coalesce(@revision, p.revision)
            WHERE @name::text IS NULL OR p.name = @name
            ORDER BY p.name
            """);
        command.Bind("name", name);
        command.Bind("revision", revision);
        return await command.ReadAllAsync(Read, cancellationToken);
    }

    private static async Task<PipelineRecord?> ReadRevisionAsync(Db db, string name, long revision, CancellationToken cancellationToken)
    {
        // The pipeline row is gone (a delete in this transaction): read the revision alone.
        await using var command = db.Command("""
            SELECT pipeline, revision, spec::text, created_by, created_at, created_at, created_at, true
            FROM pipeline_revisions WHERE pipeline = @name AND revision = @revision
            """);
        command.Bind("name", name);
        command.Bind("revision", revision);
        return (await command.ReadAllAsync(Read, cancellationToken)).SingleOrDefault();
    }

    private static PipelineRecord Read(NpgsqlDataReader reader) => new(
        Name: reader.GetString(0),
        Revision: reader.GetInt64(1),
        Spec: JsonSerializer.Deserialize<PipelineSpec>(reader.GetString(2), ControlPlaneJson.Options)!,
        CreatedBy: reader.GetString(3),
        RevisionCreatedAt: reader.GetFieldValue<DateTimeOffset>(4),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(5),
        UpdatedAt: reader.GetFieldValue<DateTimeOffset>(6),
        Current: reader.GetBoolean(7));

    /// <summary>
    /// Each named model with every version's config and its deployment's stable. Under <c>FOR KEY SHARE</c>: a
    /// model cannot go away while the revision that names it is written.
    /// </summary>
    internal static async Task<Dictionary<string, RegisteredModel>> ReadRegistryAsync(Db db, string[] models, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT m.name, v.version, v.config::text,
                   (SELECT (r.spec ->> 'stable')::bigint FROM deployments d
                    JOIN deployment_revisions r ON r.model = d.model AND r.revision = d.revision WHERE d.model = m.name)
            FROM models m LEFT JOIN model_versions v ON v.model = m.name
            WHERE m.name = ANY(@models)
            FOR KEY SHARE OF m
            """);
        command.Bind("models", models);
        var rows = await command.ReadAllAsync(reader => (
            Model: reader.GetString(0),
            Version: reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1),
            Config: reader.IsDBNull(2) ? null : JsonSerializer.Deserialize<ModelConfig>(reader.GetString(2)),
            Stable: reader.IsDBNull(3) ? (long?)null : reader.GetInt64(3)), cancellationToken);
        return rows.GroupBy(row => row.Model, StringComparer.Ordinal).ToDictionary(
            group => group.Key,
            group => new RegisteredModel(
                group.Key,
                group.Where(row => row.Version is not null && row.Config is not null).ToDictionary(row => row.Version!.Value, row => row.Config!),
                group.First().Stable),
            StringComparer.Ordinal);
    }

    /// <summary>
    /// Locks every pinned version's row <c>FOR KEY SHARE</c> until the revision is written (an archive or delete of it
    /// waits, then finds the pipeline: <see cref="PipelineVersionUsers"/>) and refuses versions that are archived or
    /// were deleted since the check read them.
    /// </summary>
    private static async Task<Dictionary<string, string[]>> PinnedVersionProblemsAsync(Db db, PipelineSpec spec, CancellationToken cancellationToken)
    {
        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var i = 0; i < spec.Steps.Count; i++)
        {
            if (spec.Steps[i] is not { Version: { } version } step)
            {
                continue;
            }
            await using var command = db.Command("SELECT stage FROM model_versions WHERE model = @model AND version = @version FOR KEY SHARE");
            command.Bind("model", step.Model);
            command.Bind("version", version);
            var stage = await command.ExecuteScalarAsync(cancellationToken) as string;
            if (stage is null)
            {
                problems[$"steps[{i}].version"] = [$"model '{step.Model}' has no version {version} (it was deleted); pin another version or leave the version out to follow the deployment"];
            }
            else if (stage == "archived")
            {
                problems[$"steps[{i}].version"] = [$"version {version} of '{step.Model}' is archived; pin another version, or restore it with POST /api/v1/models/{step.Model}/versions/{version}/stage {{\"stage\": \"none\"}}"];
            }
        }
        return problems;
    }

    private static string Canonical(PipelineSpec spec) => JsonSerializer.Serialize(spec, ControlPlaneJson.Options);

    /// <summary>The audit entry's target: the audit log's <c>model</c> stays for models.</summary>
    public static string Target(string pipeline) => $"pipeline {pipeline}";
}

internal enum PipelinePutStatus
{
    Invalid,
    Created,
    Updated,
    Unchanged,
}

/// <param name="Pipeline">The pipeline as it is now (null when <see cref="PipelinePutStatus.Invalid"/>).</param>
/// <param name="Errors">Field → what is wrong (<see cref="PipelinePutStatus.Invalid"/>).</param>
internal sealed record PipelinePutResult(PipelinePutStatus Status, PipelineRecord? Pipeline, Dictionary<string, string[]>? Errors);

/// <param name="RevisionCreatedAt">When this revision was written.</param>
/// <param name="Current">Whether this revision is the pipeline's current one.</param>
internal sealed record PipelineRecord(
    string Name,
    long Revision,
    PipelineSpec Spec,
    string CreatedBy,
    DateTimeOffset RevisionCreatedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool Current);
