using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

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
        await using var db = await Db.BeginAsync(dataSource, System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var deployments = await DeploymentStore.ReadDeploymentsAsync(db, model, cancellationToken);
        var replicas = await ReadLiveReplicasAsync(db, cancellationToken);
        var states = await ReadStatesAsync(db, model, cancellationToken);
        var artifacts = await ReadArtifactsAsync(db, deployments, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new ClusterSnapshot(deployments, replicas, states, artifacts);
    }

    private async Task<List<LiveReplica>> ReadLiveReplicasAsync(Db db, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT id, pool, http_url, grpc_url, started_at, last_seen
            FROM replicas
            WHERE last_seen > now() - make_interval(secs => @ttl_seconds)
            ORDER BY id
            """);
        command.Bind("ttl_seconds", (double)options.Value.ReplicaTtlSeconds);
        return await command.ReadAllAsync(reader => new LiveReplica(
            Id: reader.GetString(0),
            Pool: reader.GetString(1),
            HttpUrl: reader.GetString(2),
            GrpcUrl: reader.IsDBNull(3) ? null : reader.GetString(3),
            StartedAt: reader.GetFieldValue<DateTimeOffset>(4),
            LastSeen: reader.GetFieldValue<DateTimeOffset>(5)), cancellationToken);
    }

    private async Task<List<ReplicaVersionState>> ReadStatesAsync(Db db, string? model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT m.replica, m.model, m.version, m.state, m.reason
            FROM replica_models m
            JOIN replicas r ON r.id = m.replica
            WHERE r.last_seen > now() - make_interval(secs => @ttl_seconds) AND (@model::text IS NULL OR m.model = @model)
            """);
        command.Bind("ttl_seconds", (double)options.Value.ReplicaTtlSeconds);
        command.Bind("model", model);
        return await command.ReadAllAsync(reader => new ReplicaVersionState(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetInt64(2),
            StoredNames<ReplicaModelPhase>.Parse(reader.GetString(3), "replica_models.state"),
            reader.IsDBNull(4) ? null : reader.GetString(4)), cancellationToken);
    }

    private static async Task<Dictionary<(string, long), VersionArtifact>> ReadArtifactsAsync(
        Db db, IReadOnlyList<DeploymentRecord> deployments, CancellationToken cancellationToken)
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
        await using var command = db.Command("""
            SELECT v.model, v.version, v.digest, v.size_bytes, v.config
            FROM model_versions v
            JOIN unnest(@models::text[], @versions::bigint[]) AS wanted (model, version)
              ON wanted.model = v.model AND wanted.version = v.version
            """);
        command.Bind("models", models.ToArray());
        command.Bind("versions", versions.ToArray());
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
