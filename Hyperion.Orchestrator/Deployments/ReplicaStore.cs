using Hyperion.Contracts.ControlPlane;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// <c>replicas</c> and <c>replica_models</c>: each heartbeat upserts its replica and replaces what the replica
/// reported, in one transaction, and says which models' routing the report changed.
/// </summary>
internal sealed class ReplicaStore(NpgsqlDataSource dataSource, IOptions<OrchestratorOptions> options)
{
    /// <summary>Reasons are kept for people to read; a runaway one must not bloat every status read.</summary>
    public const int MaxReasonLength = 2000;

    /// <summary>A replica not heard from for this long is deleted with what it reported; a later heartbeat registers it again.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);

    public async Task<HeartbeatChange> RecordAsync(string replicaId, ReplicaReport report, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var rejoined = true;
        await using (var previous = new NpgsqlCommand("""
            SELECT last_seen > now() - make_interval(secs => $2) AND http_url = $3 AND grpc_url IS NOT DISTINCT FROM $4 AND pool = $5
            FROM replicas WHERE id = $1 FOR UPDATE
            """, connection, transaction))
        {
            previous.Parameters.Add(new NpgsqlParameter { Value = replicaId });
            previous.Parameters.Add(new NpgsqlParameter { Value = (double)options.Value.ReplicaTtlSeconds, NpgsqlDbType = NpgsqlDbType.Double });
            previous.Parameters.Add(new NpgsqlParameter { Value = report.HttpUrl });
            previous.Parameters.Add(new NpgsqlParameter { Value = (object?)report.GrpcUrl ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            previous.Parameters.Add(new NpgsqlParameter { Value = report.Pool });
            if (await previous.ExecuteScalarAsync(cancellationToken) is bool same)
            {
                rejoined = !same;
            }
        }
        await using (var upsert = new NpgsqlCommand("""
            INSERT INTO replicas (id, pool, http_url, grpc_url, started_at, last_seen) VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (id) DO UPDATE SET pool = excluded.pool, http_url = excluded.http_url, grpc_url = excluded.grpc_url,
                started_at = excluded.started_at, last_seen = now()
            """, connection, transaction))
        {
            upsert.Parameters.Add(new NpgsqlParameter { Value = replicaId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = report.Pool });
            upsert.Parameters.Add(new NpgsqlParameter { Value = report.HttpUrl });
            upsert.Parameters.Add(new NpgsqlParameter { Value = (object?)report.GrpcUrl ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            upsert.Parameters.Add(new NpgsqlParameter { Value = report.StartedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        var before = new HashSet<(string, long)>();
        var touched = new HashSet<string>(StringComparer.Ordinal);
        await using (var old = new NpgsqlCommand("DELETE FROM replica_models WHERE replica = $1 RETURNING model, version, state", connection, transaction))
        {
            old.Parameters.Add(new NpgsqlParameter { Value = replicaId });
            await using var reader = await old.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                touched.Add(reader.GetString(0));
                if (reader.GetString(2) == "ready")
                {
                    before.Add((reader.GetString(0), reader.GetInt64(1)));
                }
            }
        }

        var after = new HashSet<(string, long)>();
        if (report.Models.Count > 0)
        {
            // One row per (model, version): a report naming one twice keeps the last.
            var latest = new Dictionary<(string, long), ReplicaModelState>();
            foreach (var state in report.Models)
            {
                latest[(state.Model, state.Version)] = state;
            }
            await using var insert = new NpgsqlCommand("""
                INSERT INTO replica_models (replica, model, version, state, reason)
                SELECT $1, model, version, state, reason FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) AS r (model, version, state, reason)
                """, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter { Value = replicaId });
            insert.Parameters.Add(new NpgsqlParameter { Value = latest.Values.Select(s => s.Model).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { Value = latest.Values.Select(s => s.Version).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter { Value = latest.Values.Select(s => PhaseName(s.State)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter
            {
                Value = latest.Values.Select(s => (object?)Truncate(s.Reason) ?? DBNull.Value).ToArray(),
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
            });
            await insert.ExecuteNonQueryAsync(cancellationToken);
            foreach (var state in latest.Values)
            {
                touched.Add(state.Model);
                if (state.State == ReplicaModelPhase.Ready)
                {
                    after.Add((state.Model, state.Version));
                }
            }
        }
        await using (var purge = new NpgsqlCommand("DELETE FROM replicas WHERE last_seen < now() - make_interval(secs => $1)", connection, transaction))
        {
            // Replicas gone for good (scaled down, renamed pods) would pile up; their reports go with them.
            purge.Parameters.Add(new NpgsqlParameter { Value = ForgetAfter.TotalSeconds, NpgsqlDbType = NpgsqlDbType.Double });
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);

        // Routing changes for a model when a version became ready or stopped being ready here; for every model
        // the replica holds when it (re)joins or moved.
        var changed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (model, _) in before.Except(after).Concat(after.Except(before)))
        {
            changed.Add(model);
        }
        if (rejoined)
        {
            changed.UnionWith(touched);
        }
        return new HeartbeatChange(rejoined, changed);
    }

    public static string PhaseName(ReplicaModelPhase phase) => phase switch
    {
        ReplicaModelPhase.Loading => "loading",
        ReplicaModelPhase.Ready => "ready",
        ReplicaModelPhase.Failed => "failed",
        ReplicaModelPhase.Unloading => "unloading",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "unknown replica model phase"),
    };

    public static ReplicaModelPhase ParsePhase(string state) => state switch
    {
        "loading" => ReplicaModelPhase.Loading,
        "ready" => ReplicaModelPhase.Ready,
        "failed" => ReplicaModelPhase.Failed,
        "unloading" => ReplicaModelPhase.Unloading,
        _ => throw new InvalidDataException($"replica_models.state '{state}' is not one of loading, ready, failed, unloading"),
    };

    private static string? Truncate(string? reason) =>
        reason is { Length: > MaxReasonLength } ? reason[..MaxReasonLength] + "…" : reason;
}

/// <param name="Rejoined">The replica was not live before this heartbeat (new, restarted after its TTL, or moved).</param>
/// <param name="ChangedModels">Models whose routing this heartbeat changed.</param>
internal sealed record HeartbeatChange(bool Rejoined, IReadOnlySet<string> ChangedModels);
