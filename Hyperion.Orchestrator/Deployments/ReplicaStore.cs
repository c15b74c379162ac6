using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

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
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);

        var rejoined = true;
        await using (var previous = db.Command("""
            SELECT last_seen > now() - make_interval(secs => @ttl_seconds) AND http_url = @http_url AND grpc_url IS NOT DISTINCT FROM @grpc_url AND pool = @pool
            FROM replicas WHERE id = @id FOR UPDATE
            """))
        {
            previous.Bind("id", replicaId);
            previous.Bind("ttl_seconds", (double)options.Value.ReplicaTtlSeconds);
            previous.Bind("http_url", report.HttpUrl);
            previous.Bind("grpc_url", report.GrpcUrl);
            previous.Bind("pool", report.Pool);
            if (await previous.ExecuteScalarAsync(cancellationToken) is bool same)
            {
                rejoined = !same;
            }
        }
        await using (var upsert = db.Command("""
            INSERT INTO replicas (id, pool, http_url, grpc_url, started_at, last_seen) VALUES (@id, @pool, @http_url, @grpc_url, @started_at, now())
            ON CONFLICT (id) DO UPDATE SET pool = excluded.pool, http_url = excluded.http_url, grpc_url = excluded.grpc_url,
                started_at = excluded.started_at, last_seen = now()
            """))
        {
            upsert.Bind("id", replicaId);
            upsert.Bind("pool", report.Pool);
            upsert.Bind("http_url", report.HttpUrl);
            upsert.Bind("grpc_url", report.GrpcUrl);
            upsert.Bind("started_at", report.StartedAt);
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        var before = new HashSet<(string, long)>();
        var touched = new HashSet<string>(StringComparer.Ordinal);
        await using (var old = db.Command("DELETE FROM replica_models WHERE replica = @replica RETURNING model, version, state"))
        {
            old.Bind("replica", replicaId);
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
            await using var insert = db.Command("""
                INSERT INTO replica_models (replica, model, version, state, reason)
                SELECT @replica, model, version, state, reason
                FROM unnest(@models::text[], @versions::bigint[], @states::text[], @reasons::text[]) AS r (model, version, state, reason)
                """);
            insert.Bind("replica", replicaId);
            insert.Bind("models", latest.Values.Select(s => s.Model).ToArray());
            insert.Bind("versions", latest.Values.Select(s => s.Version).ToArray());
            insert.Bind("states", latest.Values.Select(s => StoredNames<ReplicaModelPhase>.Name(s.State)).ToArray());
            insert.Bind("reasons", latest.Values.Select(s => Truncate(s.Reason)).ToArray());
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
        await using (var purge = db.Command("DELETE FROM replicas WHERE last_seen < now() - make_interval(secs => @forget_after_seconds)"))
        {
            // Replicas gone for good (scaled down, renamed pods) would pile up; their reports go with them.
            purge.Bind("forget_after_seconds", ForgetAfter.TotalSeconds);
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }
        await db.CommitAsync(cancellationToken);

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

    private static string? Truncate(string? reason) =>
        reason is { Length: > MaxReasonLength } ? reason[..MaxReasonLength] + "…" : reason;
}

/// <param name="Rejoined">The replica was not live before this heartbeat (new, restarted after its TTL, or moved).</param>
/// <param name="ChangedModels">Models whose routing this heartbeat changed.</param>
internal sealed record HeartbeatChange(bool Rejoined, IReadOnlySet<string> ChangedModels);
