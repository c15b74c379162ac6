using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// The deployment writes a rollout makes, inside its own transaction (so the new revision, the rollout row, the
/// audit entry and the webhook rows commit together): the deployment's advisory lock (the one PUT takes), the
/// current deployment, a new revision.
/// </summary>
internal static class DeploymentRevisions
{
    /// <summary>Waits for the deployment's lock (held by a PUT or another rollout change until its transaction ends).</summary>
    public static Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken) =>
        DeploymentStore.LockAsync(connection, transaction, model, cancellationToken);

    public static async Task<DeploymentRecord?> CurrentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string model, CancellationToken cancellationToken) =>
        (await DeploymentStore.ReadDeploymentsAsync(connection, transaction, model, cancellationToken)).SingleOrDefault();

    /// <summary>Writes <paramref name="spec"/> as the deployment's next revision and points the deployment at it (the caller holds the lock).</summary>
    public static Task<long> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string model, DeploymentSpec spec, string actor, CancellationToken cancellationToken) =>
        DeploymentStore.AppendRevisionAsync(connection, transaction, model, JsonSerializer.Serialize(spec, ControlPlaneJson.Options), actor, cancellationToken);

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
