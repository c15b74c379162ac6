using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// The deployment writes a rollout makes, inside its own transaction (so the new revision, the rollout row, the
/// audit entry and the webhook rows commit together): the deployment's advisory lock (the one PUT takes), the
/// current deployment, a new revision.
/// </summary>
internal static class DeploymentRevisions
{
    /// <summary>Waits for the deployment's lock (held by a PUT or another rollout change until its transaction ends).</summary>
    public static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.deployment:' || $1, 0))", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<DeploymentRecord?> CurrentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken) =>
        (await DeploymentStore.ReadDeploymentsAsync(connection, transaction, model, cancellationToken)).SingleOrDefault();

    /// <summary>Writes <paramref name="spec"/> as the deployment's next revision and points the deployment at it (the caller holds the lock).</summary>
    public static async Task<long> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string model, DeploymentSpec spec, string actor, CancellationToken cancellationToken)
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
            insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(spec, ControlPlaneJson.Options), NpgsqlDbType = NpgsqlDbType.Jsonb });
            insert.Parameters.Add(new NpgsqlParameter { Value = actor });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var point = new NpgsqlCommand("UPDATE deployments SET revision = $2, updated_at = now() WHERE model = $1", connection, transaction))
        {
            point.Parameters.Add(new NpgsqlParameter { Value = model });
            point.Parameters.Add(new NpgsqlParameter { Value = revision });
            await point.ExecuteNonQueryAsync(cancellationToken);
        }
        return revision;
    }

    /// <summary>Who wrote <paramref name="revision"/>.</summary>
    public static async Task<string> CreatorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, long revision, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT created_by FROM deployment_revisions WHERE model = $1 AND revision = $2", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        command.Parameters.Add(new NpgsqlParameter { Value = revision });
        return await command.ExecuteScalarAsync(cancellationToken) as string ?? "unknown";
    }

    /// <summary>
    /// The newest revision before <paramref name="current"/> whose stable differs from the current stable: what a
    /// rollback returns to (several rollbacks in a row go back and forth, like <c>kubectl rollout undo</c>).
    /// </summary>
    public static async Task<(long Revision, long Stable)?> PreviousStableAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, DeploymentRecord current, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT revision, (spec ->> 'stable')::bigint
            FROM deployment_revisions
            WHERE model = $1 AND revision < $2 AND (spec ->> 'stable')::bigint <> $3
            ORDER BY revision DESC
            LIMIT 1
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = current.Model });
        command.Parameters.Add(new NpgsqlParameter { Value = current.Revision });
        command.Parameters.Add(new NpgsqlParameter { Value = current.Spec.Stable });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }
}
