using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Reads a <see cref="ClusterSnapshot"/> in one repeatable-read transaction, so deployments, replicas and their
/// reports agree with each other. Liveness is judged by the database clock, the one every orchestrator shares.
/// </summary>
internal sealed class SnapshotReader(NpgsqlDataSource dataSource, IOptions<OrchestratorOptions> options)
{
    /// <param name="model">Only this model's deployment (null: every deployment).</param>
    public async Task<ClusterSnapshot> ReadAsync(string? model, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var deployments = await DeploymentStore.ReadDeploymentsAsync(connection, transaction, model, cancellationToken);
        var replicas = await ReadLiveReplicasAsync(connection, transaction, cancellationToken);
        var states = await ReadStatesAsync(connection, transaction, model, cancellationToken);
        var artifacts = await ReadArtifactsAsync(connection, transaction, deployments, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ClusterSnapshot(deployments, replicas, states, artifacts);
    }

    private async Task<List<LiveReplica>> ReadLiveReplicasAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT id, pool, http_url, grpc_url, started_at, last_seen
            FROM replicas
            WHERE last_seen > now() - make_interval(secs => $1)
            ORDER BY id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (double)options.Value.ReplicaTtlSeconds, NpgsqlDbType = NpgsqlDbType.Double });
        var replicas = new List<LiveReplica>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            replicas.Add(new LiveReplica(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetFieldValue<DateTimeOffset>(5)));
        }
        return replicas;
    }

    private async Task<List<ReplicaVersionState>> ReadStatesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string? model, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT m.replica, m.model, m.version, m.state, m.reason
            FROM replica_models m
            JOIN replicas r ON r.id = m.replica
            WHERE r.last_seen > now() - make_interval(secs => $1) AND ($2::text IS NULL OR m.model = $2)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (double)options.Value.ReplicaTtlSeconds, NpgsqlDbType = NpgsqlDbType.Double });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)model ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var states = new List<ReplicaVersionState>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            states.Add(new ReplicaVersionState(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetInt64(2),
                ReplicaStore.ParsePhase(reader.GetString(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        return states;
    }

    private static async Task<Dictionary<(string, long), VersionArtifact>> ReadArtifactsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<DeploymentRecord> deployments, CancellationToken cancellationToken)
    {
        var models = new List<string>();
        var versions = new List<long>();
        foreach (var deployment in deployments)
        {
            foreach (var version in ConvergencePlan.HeldVersions(deployment))
            {
                models.Add(deployment.Model);
                versions.Add(version);
            }
        }
        var artifacts = new Dictionary<(string, long), VersionArtifact>();
        if (models.Count == 0)
        {
            return artifacts;
        }
        await using var command = new NpgsqlCommand("""
            SELECT v.model, v.version, v.digest, v.size_bytes, v.config
            FROM model_versions v
            JOIN unnest($1::text[], $2::bigint[]) AS wanted (model, version)
              ON wanted.model = v.model AND wanted.version = v.version
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = models.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = versions.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var config = JsonNode.Parse(reader.GetString(4)) as JsonObject ?? [];
            artifacts[(reader.GetString(0), reader.GetInt64(1))] = new VersionArtifact(reader.GetString(2), reader.GetInt64(3), config);
        }
        return artifacts;
    }

    public static DeploymentSpec ParseSpec(string json) =>
        JsonSerializer.Deserialize<DeploymentSpec>(json, ControlPlaneJson.Options)
        ?? throw new InvalidDataException("deployment_revisions.spec is null");
}
