using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Rollouts;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

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
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockAsync(connection, transaction, model, cancellationToken);

        await using (var exists = new NpgsqlCommand("SELECT 1 FROM models WHERE name = $1 FOR KEY SHARE", connection, transaction))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = model });
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return new PutResult(PutStatus.ModelNotFound, 0, [], []);
            }
        }
        var existing = await ReadVersionsAsync(connection, transaction, model, cancellationToken);
        var missing = spec.NamedVersions().Distinct().Where(version => !existing.Contains(version)).ToList();
        if (missing.Count > 0)
        {
            return new PutResult(PutStatus.MissingVersions, 0, missing, existing);
        }
        if (spec.Batching is not null || spec.MaxBatchSize is not null)
        {
            var problems = new List<string>();
            foreach (var (version, config) in await ReadConfigsAsync(connection, transaction, model, [.. spec.NamedVersions().Distinct()], cancellationToken))
            {
                problems.AddRange(VersionOverridesCheck.Problems(version, config, spec));
            }
            if (problems.Count > 0)
            {
                return new PutResult(PutStatus.OverridesDoNotFit, 0, [], existing, problems);
            }
        }

        var current = (await ReadDeploymentsAsync(connection, transaction, model, cancellationToken)).SingleOrDefault();
        var specJson = JsonSerializer.Serialize(spec, ControlPlaneJson.Options);
        if (current is not null && JsonSerializer.Serialize(current.Spec, ControlPlaneJson.Options) == specJson)
        {
            return new PutResult(PutStatus.Unchanged, current.Revision, [], existing);
        }

        var revision = await AppendRevisionAsync(connection, transaction, model, specJson, actor, cancellationToken);
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            actor,
            current is null ? "deployment.created" : "deployment.updated",
            model,
            $"revision {revision}",
            Before: current?.Spec,
            After: spec,
            Details: new { revision, previous_revision = current?.Revision }), cancellationToken);
        await webhooks.EnqueueAsync(connection, transaction, new NotificationEvent(
            NotificationEventTypes.DeploymentUpdated,
            model,
            actor,
            new DeploymentChange(current is null ? "created" : "updated", revision, current?.Revision, current?.Spec, spec)), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new PutResult(current is null ? PutStatus.Created : PutStatus.Updated, revision, [], existing);
    }

    /// <summary>Removes the deployment (its revisions stay, for history and for a later PUT's numbering); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string model, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockAsync(connection, transaction, model, cancellationToken);
        var current = (await ReadDeploymentsAsync(connection, transaction, model, cancellationToken)).SingleOrDefault();
        if (current is null)
        {
            return false;
        }
        await using (var delete = new NpgsqlCommand("DELETE FROM deployments WHERE model = $1", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = model });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            actor, "deployment.deleted", model, $"revision {current.Revision}", Before: current.Spec,
            Details: new { revision = current.Revision, serving_stable = current.ServingStable }), cancellationToken);
        await webhooks.EnqueueAsync(connection, transaction, new NotificationEvent(
            NotificationEventTypes.DeploymentUpdated, model, actor, new DeploymentChange("deleted", null, current.Revision, current.Spec, null)), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = new NpgsqlCommand("""
            UPDATE deployments SET serving_stable = $3, updated_at = now(),
                previous_stable = serving_stable, previous_stable_until = now() + make_interval(secs => $5)
            WHERE model = $1 AND revision = $2 AND serving_stable IS NOT DISTINCT FROM $4
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = deployment.Model });
            update.Parameters.Add(new NpgsqlParameter { Value = deployment.Revision });
            update.Parameters.Add(new NpgsqlParameter { Value = to });
            update.Parameters.Add(new NpgsqlParameter { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            update.Parameters.Add(new NpgsqlParameter { Value = (double)rolloutOptions.Value.PreviousStableRetentionSeconds, NpgsqlDbType = NpgsqlDbType.Double });
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            ActorClaims.System("convergence"),
            "deployment.serving_changed",
            deployment.Model,
            $"revision {deployment.Revision}",
            Before: new { serving_stable = from },
            After: new { serving_stable = to },
            Details: new { revision = deployment.Revision, ready_on = readyOn, previous_stable_retained_seconds = from is null ? 0 : rolloutOptions.Value.PreviousStableRetentionSeconds }), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<RevisionView>?> RevisionsAsync(string model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT r.revision, r.spec, r.created_by, r.created_at, d.revision IS NOT NULL AS current
            FROM deployment_revisions r
            LEFT JOIN deployments d ON d.model = r.model AND d.revision = r.revision
            WHERE r.model = $1
            ORDER BY r.revision DESC
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
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

    public static async Task<List<DeploymentRecord>> ReadDeploymentsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string? model, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT d.model, d.revision, r.spec, d.serving_stable, d.updated_at,
                   CASE WHEN d.previous_stable_until > now() THEN d.previous_stable END,
                   CASE WHEN d.previous_stable_until > now() THEN d.previous_stable_until END
            FROM deployments d
            JOIN deployment_revisions r ON r.model = d.model AND r.revision = d.revision
            WHERE $1::text IS NULL OR d.model = $1
            ORDER BY d.model
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)model ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var deployments = new List<DeploymentRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            deployments.Add(new DeploymentRecord(
                reader.GetString(0),
                reader.GetInt64(1),
                SnapshotReader.ParseSpec(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }
        return deployments;
    }

    /// <summary>
    /// Writes <paramref name="specJson"/> as the model's next revision and points the deployment at it. The caller
    /// holds <see cref="LockAsync"/> in <paramref name="transaction"/> (revision numbers are max + 1).
    /// </summary>
    public static async Task<long> AppendRevisionAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string model, string specJson, string actor, CancellationToken cancellationToken)
    {
        long revision;
        await using (var next = new NpgsqlCommand("SELECT coalesce(max(revision), 0) + 1 FROM deployment_revisions WHERE model = $1", connection, transaction))
        {
            next.Parameters.Add(new NpgsqlParameter { Value = model });
            revision = (long)(await next.ExecuteScalarAsync(cancellationToken))!;
        }
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO deployment_revisions (model, revision, spec, created_by) VALUES ($1, $2, $3, $4)", connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = model });
            insert.Parameters.Add(new NpgsqlParameter { Value = revision });
            insert.Parameters.Add(new NpgsqlParameter { Value = specJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter { Value = actor });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var point = new NpgsqlCommand("""
            INSERT INTO deployments (model, revision) VALUES ($1, $2)
            ON CONFLICT (model) DO UPDATE SET revision = excluded.revision, updated_at = now()
            """, connection, transaction))
        {
            point.Parameters.Add(new NpgsqlParameter { Value = model });
            point.Parameters.Add(new NpgsqlParameter { Value = revision });
            await point.ExecuteNonQueryAsync(cancellationToken);
        }
        return revision;
    }

    private static async Task<List<long>> ReadVersionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version FROM model_versions WHERE model = $1 ORDER BY version", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        var versions = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(reader.GetInt64(0));
        }
        return versions;
    }

    private static async Task<List<(long Version, JsonObject Config)>> ReadConfigsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string model, long[] versions, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version, config::text FROM model_versions WHERE model = $1 AND version = ANY($2) ORDER BY version", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        command.Parameters.Add(new NpgsqlParameter { Value = versions });
        var configs = new List<(long, JsonObject)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            configs.Add((reader.GetInt64(0), JsonNode.Parse(reader.GetString(1))!.AsObject()));
        }
        return configs;
    }

    /// <summary>The deployment's advisory lock until the transaction ends: changes of one deployment take turns.</summary>
    public static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.deployment:' || $1, 0))", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

internal enum PutStatus
{
    ModelNotFound,
    MissingVersions,
    OverridesDoNotFit,
    Created,
    Updated,
    Unchanged,
}

/// <param name="Missing">The named versions that do not exist (<see cref="PutStatus.MissingVersions"/>).</param>
/// <param name="Existing">The model's versions.</param>
/// <param name="Problems">Why the overrides do not fit the named versions (<see cref="PutStatus.OverridesDoNotFit"/>).</param>
internal sealed record PutResult(PutStatus Status, long Revision, IReadOnlyList<long> Missing, IReadOnlyList<long> Existing, IReadOnlyList<string>? Problems = null);

internal sealed record RevisionView(long Revision, DeploymentSpec Spec, string CreatedBy, DateTimeOffset CreatedAt, bool Current);

/// <summary>The <c>data</c> of a <c>deployment.updated</c> webhook event.</summary>
/// <param name="Change">created, updated or deleted.</param>
internal sealed record DeploymentChange(string Change, long? Revision, long? PreviousRevision, DeploymentSpec? Before, DeploymentSpec? After);
