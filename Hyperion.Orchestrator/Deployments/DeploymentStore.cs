using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Lifecycle;
using Hyperion.Orchestrator.Rollouts;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// <c>deployments</c> and <c>deployment_revisions</c>: every change is a new revision (kept) and the deployment
/// points at it, written with its audit entry in one transaction under a per-model advisory lock, so concurrent
/// changes of one deployment take turns and never number two revisions alike.
/// Webhooks subscribed to <c>deployment.updated</c> hear of each change from the same transaction (the outbox).
/// </summary>
internal sealed class DeploymentStore(NpgsqlDataSource dataSource, WebhookOutbox webhooks, IOptions<RolloutOptions> rolloutOptions)
{
    public async Task<PutResult> PutAsync(string model, DeploymentSpec spec, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await LockAsync(db, model, cancellationToken);

        string task;
        await using (var exists = db.Command("SELECT task FROM models WHERE name = @model FOR KEY SHARE"))
        {
            exists.Bind("model", model);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not string found)
            {
                return new PutResult(PutStatus.ModelNotFound, 0, [], []);
            }
            task = found;
        }
        var existing = await ReadVersionsAsync(db, model, cancellationToken);
        var missing = spec.NamedVersions().Distinct().Where(version => !existing.Contains(version)).ToList();
        if (missing.Count > 0)
        {
            return new PutResult(PutStatus.MissingVersions, 0, missing, existing);
        }
        if (await ReadArchivedAsync(db, model, [.. spec.NamedVersions().Distinct()], cancellationToken) is { Count: > 0 } archived)
        {
            return new PutResult(PutStatus.ArchivedVersions, 0, [], existing, Archived: archived);
        }
        if (await NotInProductionAsync(db, model, spec, cancellationToken) is { } refusal)
        {
            return new PutResult(PutStatus.NotInProduction, 0, [], existing, [refusal]);
        }
        if (spec.Canary is { MaxAccuracyDrop: not null } or { MinAgreement: not null } && task != "classification")
        {
            return new PutResult(PutStatus.DoesNotFit, 0, [], existing,
                [$"canary.max_accuracy_drop and canary.min_agreement compare predicted classes, so they need a classification model, and '{model}' is a {task} model"]);
        }
        if (spec.Batching is not null || spec.MaxBatchSize is not null)
        {
            var problems = new List<string>();
            foreach (var (version, config) in await ReadConfigsAsync(db, model, [.. spec.NamedVersions().Distinct()], cancellationToken))
            {
                problems.AddRange(VersionOverridesCheck.Problems(version, config, spec));
            }
            if (problems.Count > 0)
            {
                return new PutResult(PutStatus.DoesNotFit, 0, [], existing, problems);
            }
        }

        var current = await CurrentAsync(db, model, cancellationToken);
        if (current is not null && JsonSerializer.Serialize(current.Spec, ControlPlaneJson.Options) == JsonSerializer.Serialize(spec, ControlPlaneJson.Options))
        {
            return new PutResult(PutStatus.Unchanged, current.Revision, [], existing);
        }

        var revision = await AppendRevisionAsync(db, model, spec, actor, cancellationToken);
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: current is null ? AuditAction.DeploymentCreated : AuditAction.DeploymentUpdated,
            Model: model,
            Target: $"revision {revision}",
            Before: current?.Spec,
            After: spec,
            Details: new { revision, previous_revision = current?.Revision }), cancellationToken);
        await webhooks.EnqueueAsync(db, new NotificationEvent(
            NotificationEventTypes.DeploymentUpdated,
            model,
            actor,
            new DeploymentChange(current is null ? DeploymentChangeKind.Created : DeploymentChangeKind.Updated, revision, current?.Revision, current?.Spec, spec)), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new PutResult(current is null ? PutStatus.Created : PutStatus.Updated, revision, [], existing);
    }

    /// <summary>Removes the deployment (its revisions stay, for history and for a later PUT's numbering); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string model, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await LockAsync(db, model, cancellationToken);
        var current = await CurrentAsync(db, model, cancellationToken);
        if (current is null)
        {
            return false;
        }
        await using (var delete = db.Command("DELETE FROM deployments WHERE model = @model"))
        {
            delete.Bind("model", model);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.DeploymentDeleted,
            Model: model,
            Target: $"revision {current.Revision}",
            Before: current.Spec,
            Details: new { revision = current.Revision, serving_stable = current.ServingStable }), cancellationToken);
        await webhooks.EnqueueAsync(db, new NotificationEvent(
            NotificationEventTypes.DeploymentUpdated, model, actor, new DeploymentChange(DeploymentChangeKind.Deleted, null, current.Revision, current.Spec, null)), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Moves the serving stable from <paramref name="from"/> to <paramref name="to"/> unless the deployment changed
    /// meanwhile (another revision, or another orchestrator made the same move): true when this call made it. The
    /// version moved off stays loaded for the retention period (<see cref="RolloutOptions.PreviousStableRetentionSeconds"/>).
    /// </summary>
    public async Task<bool> SetServingStableAsync(
        DeploymentRecord deployment, long? from, long to, IReadOnlyList<string> readyOn, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var update = db.Command("""
            UPDATE deployments SET serving_stable = @to, updated_at = now(),
                previous_stable = serving_stable, previous_stable_until = now() + make_interval(secs => @retention_seconds)
            WHERE model = @model AND revision = @revision AND serving_stable IS NOT DISTINCT FROM @from
            """))
        {
            update.Bind("model", deployment.Model);
            update.Bind("revision", deployment.Revision);
            update.Bind("to", to);
            update.Bind("from", from);
            update.Bind("retention_seconds", (double)rolloutOptions.Value.PreviousStableRetentionSeconds);
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: ActorClaims.System("convergence"),
            Action: AuditAction.DeploymentServingChanged,
            Model: deployment.Model,
            Target: $"revision {deployment.Revision}",
            Before: new { serving_stable = from },
            After: new { serving_stable = to },
            Details: new { revision = deployment.Revision, ready_on = readyOn, previous_stable_retained_seconds = from is null ? 0 : rolloutOptions.Value.PreviousStableRetentionSeconds }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<RevisionView>?> RevisionsAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT r.revision, r.spec, r.created_by, r.created_at, d.revision IS NOT NULL AS current
            FROM deployment_revisions r
            LEFT JOIN deployments d ON d.model = r.model AND d.revision = r.revision
            WHERE r.model = @model
            ORDER BY r.revision DESC
            """);
        command.Bind("model", model);
        var revisions = new List<RevisionView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            revisions.Add(new RevisionView(
                reader.GetInt64(0),
                SnapshotReader.ParseSpec(reader.GetString(1)),
                reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetBoolean(4)));
        }
        return revisions.Count == 0 ? null : revisions;
    }

    /// <summary>The deployment's advisory lock until the transaction ends: changes of one deployment take turns.</summary>
    public static async Task LockAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.deployment:' || @model, 0))");
        command.Bind("model", model);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The model's deployment; null when it has none.</summary>
    public static async Task<DeploymentRecord?> CurrentAsync(Db db, string model, CancellationToken cancellationToken) =>
        (await ReadDeploymentsAsync(db, model, cancellationToken)).SingleOrDefault();

    /// <param name="model">Only this model's deployment (null: every deployment).</param>
    public static async Task<List<DeploymentRecord>> ReadDeploymentsAsync(Db db, string? model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT d.model, d.revision, r.spec, d.serving_stable, d.updated_at,
                   CASE WHEN d.previous_stable_until > now() THEN d.previous_stable END,
                   CASE WHEN d.previous_stable_until > now() THEN d.previous_stable_until END
            FROM deployments d
            JOIN deployment_revisions r ON r.model = d.model AND r.revision = d.revision
            WHERE @model::text IS NULL OR d.model = @model
            ORDER BY d.model
            """);
        command.Bind("model", model);
        var deployments = new List<DeploymentRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            deployments.Add(new DeploymentRecord(
                Model: reader.GetString(0),
                Revision: reader.GetInt64(1),
                Spec: SnapshotReader.ParseSpec(reader.GetString(2)),
                ServingStable: reader.IsDBNull(3) ? null : reader.GetInt64(3),
                UpdatedAt: reader.GetFieldValue<DateTimeOffset>(4),
                RetainedStable: reader.IsDBNull(5) ? null : reader.GetInt64(5),
                RetainedUntil: reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }
        return deployments;
    }

    /// <summary>
    /// Writes <paramref name="spec"/> as the model's next revision and points the deployment at it. The caller holds
    /// <see cref="LockAsync"/> in <paramref name="db"/>'s transaction (revision numbers are max + 1).
    /// </summary>
    public static async Task<long> AppendRevisionAsync(Db db, string model, DeploymentSpec spec, string actor, CancellationToken cancellationToken)
    {
        long revision;
        await using (var next = db.Command("SELECT coalesce(max(revision), 0) + 1 FROM deployment_revisions WHERE model = @model"))
        {
            next.Bind("model", model);
            revision = (long)(await next.ExecuteScalarAsync(cancellationToken))!;
        }
        await using (var insert = db.Command("INSERT INTO deployment_revisions (model, revision, spec, created_by) VALUES (@model, @revision, @spec, @actor)"))
        {
            insert.Bind("model", model);
            insert.Bind("revision", revision);
            insert.BindJson("spec", spec);
            insert.Bind("actor", actor);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var point = db.Command("""
            INSERT INTO deployments (model, revision) VALUES (@model, @revision)
            ON CONFLICT (model) DO UPDATE SET revision = excluded.revision, updated_at = now()
            """))
        {
            point.Bind("model", model);
            point.Bind("revision", revision);
            await point.ExecuteNonQueryAsync(cancellationToken);
        }
        return revision;
    }

    /// <summary>Who wrote <paramref name="revision"/>.</summary>
    public static async Task<string> CreatorAsync(Db db, string model, long revision, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT created_by FROM deployment_revisions WHERE model = @model AND revision = @revision");
        command.Bind("model", model);
        command.Bind("revision", revision);
        return await command.ExecuteScalarAsync(cancellationToken) as string ?? "unknown";
    }

    /// <summary>
    /// The newest revision before <paramref name="current"/> whose stable differs from the current stable: what a
    /// rollback returns to (several rollbacks in a row go back and forth, like <c>kubectl rollout undo</c>).
    /// </summary>
    public static async Task<(long Revision, long Stable)?> PreviousStableAsync(Db db, DeploymentRecord current, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT revision, (spec ->> 'stable')::bigint
            FROM deployment_revisions
            WHERE model = @model AND revision < @revision AND (spec ->> 'stable')::bigint <> @stable
              -- Never back to a version deleted or archived since, nor, when the model requires approval, one no longer in production.
              AND EXISTS (SELECT 1 FROM model_versions v JOIN models m ON m.name = v.model
                          WHERE v.model = @model AND v.version = (spec ->> 'stable')::bigint AND v.stage <> 'archived'
                            AND (v.stage = 'production' OR NOT m.require_approval))
            ORDER BY revision DESC
            LIMIT 1
            """);
        command.Bind("model", current.Model);
        command.Bind("revision", current.Revision);
        command.Bind("stable", current.Spec.Stable);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>
    /// Under the model's approval policy, why the spec's stable (or a planned canary, which the plan makes stable) is
    /// not acceptable: it is not in production. Null when it is, or without the policy. A fixed canary or a shadow may
    /// be any version that is not archived: that is how a staging version is tried.
    /// </summary>
    private static async Task<string?> NotInProductionAsync(Db db, string model, DeploymentSpec spec, CancellationToken cancellationToken)
    {
        if (await ApprovalPolicy.StableRefusalAsync(db, model, spec.Stable, "stable", cancellationToken) is { } stable)
        {
            return stable;
        }
        return CanaryPlan.IsPlan(spec.Canary)
            ? await ApprovalPolicy.StableRefusalAsync(db, model, spec.Canary!.Version, ApprovalPolicy.PlanCanaryRole, cancellationToken)
            : null;
    }

    private static async Task<List<long>> ReadVersionsAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT version FROM model_versions WHERE model = @model ORDER BY version");
        command.Bind("model", model);
        return await command.ReadAllAsync(reader => reader.GetInt64(0), cancellationToken);
    }

    private static async Task<List<long>> ReadArchivedAsync(Db db, string model, long[] versions, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT version FROM model_versions WHERE model = @model AND version = ANY(@versions) AND stage = 'archived' ORDER BY version");
        command.Bind("model", model);
        command.Bind("versions", versions);
        return await command.ReadAllAsync(reader => reader.GetInt64(0), cancellationToken);
    }

    private static async Task<List<(long Version, JsonObject Config)>> ReadConfigsAsync(Db db, string model, long[] versions, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT version, config::text FROM model_versions WHERE model = @model AND version = ANY(@versions) ORDER BY version");
        command.Bind("model", model);
        command.Bind("versions", versions);
        return await command.ReadAllAsync(reader => (reader.GetInt64(0), JsonNode.Parse(reader.GetString(1))!.AsObject()), cancellationToken);
    }
}

internal enum PutStatus
{
    ModelNotFound,
    MissingVersions,
    ArchivedVersions,
    NotInProduction,
    DoesNotFit,
    Created,
    Updated,
    Unchanged,
}

/// <param name="Missing">The named versions that do not exist (<see cref="PutStatus.MissingVersions"/>).</param>
/// <param name="Existing">The model's versions.</param>
/// <param name="Problems">Why the spec does not fit the model or its named versions (<see cref="PutStatus.DoesNotFit"/>, <see cref="PutStatus.NotInProduction"/>).</param>
/// <param name="Archived">The named versions that are archived (<see cref="PutStatus.ArchivedVersions"/>).</param>
internal sealed record PutResult(
    PutStatus Status, long Revision, IReadOnlyList<long> Missing, IReadOnlyList<long> Existing, IReadOnlyList<string>? Problems = null, IReadOnlyList<long>? Archived = null);

internal sealed record RevisionView(long Revision, DeploymentSpec Spec, string CreatedBy, DateTimeOffset CreatedAt, bool Current);

/// <summary>The <c>data</c> of a <c>deployment.updated</c> webhook event.</summary>
internal sealed record DeploymentChange(DeploymentChangeKind Change, long? Revision, long? PreviousRevision, DeploymentSpec? Before, DeploymentSpec? After);

/// <summary>What a <c>deployment.updated</c> event says happened: <c>created</c>, <c>updated</c> or <c>deleted</c> on the wire.</summary>
internal enum DeploymentChangeKind
{
    Created,
    Updated,
    Deleted,
}
