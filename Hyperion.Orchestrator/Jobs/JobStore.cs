using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Jobs and their chunks in PostgreSQL. A chunk is leased by one worker at a time (<c>FOR UPDATE SKIP LOCKED</c>, so
/// workers on every replica take different chunks); a lease that runs out without renewal lets another worker take
/// the chunk over. Only the lease's holder can close a chunk, so a worker that lost its lease (stalled, or its
/// replica cut off) cannot record a second result for the same lines.
/// </summary>
internal sealed class JobStore(NpgsqlDataSource dataSource, JobNotifications notifications)
{
    private const string Columns = """
        id, target_kind, target, version, revision, input_format, state, total, done, failed, reason, webhook_url,
        created_by, created_at, started_at, finished_at
        """;

    /// <summary>Stores a submitted job, queued, with its chunks; audited.</summary>
    public async Task<JobRecord> InsertAsync(
        JobRecord job, string? webhookSecret, IReadOnlyList<NewChunk> chunks, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using (var insert = db.Command($"""
            INSERT INTO jobs (id, target_kind, target, version, revision, input_format, state, total, webhook_url, webhook_secret, created_by)
            VALUES (@id, @target_kind, @target, @version, @revision, @input_format, 'queued', @total, @webhook_url, @webhook_secret, @created_by)
            RETURNING {Columns}
            """))
        {
            insert.Bind("id", job.Id);
            insert.Bind("target_kind", job.TargetKind);
            insert.Bind("target", job.Target);
            insert.Bind("version", job.Version);
            insert.Bind("revision", job.Revision);
            insert.Bind("input_format", job.InputFormat);
            insert.Bind("total", job.Total);
            insert.Bind("webhook_url", job.WebhookUrl);
            insert.Bind("webhook_secret", webhookSecret);
            insert.Bind("created_by", job.CreatedBy);
            job = (await insert.ReadAllAsync(Read, cancellationToken))[0];
        }
        await using (var insertChunks = db.Command("""
            INSERT INTO job_chunks (job_id, chunk, first_line, lines, input_digest)
            SELECT @id, c.ordinality - 1, c.first_line, c.lines, c.digest
            FROM unnest(@first_lines::bigint[], @lines::integer[], @digests::text[]) WITH ORDINALITY AS c(first_line, lines, digest)
            """))
        {
            insertChunks.Bind("id", job.Id);
            insertChunks.Bind("first_lines", chunks.Select(chunk => chunk.FirstLine).ToArray());
            insertChunks.Bind("lines", chunks.Select(chunk => chunk.Lines).ToArray());
            insertChunks.Bind("digests", chunks.Select(chunk => chunk.InputDigest).ToArray());
            await insertChunks.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: job.CreatedBy,
            Action: AuditAction.JobSubmitted,
            Model: job.TargetKind == JobTargetKinds.Model ? job.Target : null,
            Target: $"job {job.Id}",
            After: new { job.Id, Target = new Dictionary<string, string> { [job.TargetKind] = job.Target }, job.Version, job.Revision, job.Total, Chunks = chunks.Count }),
            cancellationToken);
        await using (var wake = db.Command($"SELECT pg_notify('{JobWorker.Channel}', @id)"))
        {
            wake.Bind("id", job.Id.ToString());
            await wake.ExecuteNonQueryAsync(cancellationToken);
        }
        await db.CommitAsync(cancellationToken);
        return job;
    }

    public async Task<JobRecord?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command($"SELECT {Columns} FROM jobs WHERE id = @id");
        command.Bind("id", id);
        return (await command.ReadAllAsync(Read, cancellationToken)) is [var job] ? job : null;
    }

    /// <summary>Newest first; <paramref name="createdBy"/> null lists everyone's.</summary>
    public async Task<List<JobRecord>> ListAsync(string? createdBy, string? state, int limit, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command($"""
            SELECT {Columns} FROM jobs
            WHERE (@created_by::text IS NULL OR created_by = @created_by) AND (@state::text IS NULL OR state = @state)
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """);
        command.Bind("created_by", createdBy);
        command.Bind("state", state);
        command.Bind("limit", limit);
        return await command.ReadAllAsync(Read, cancellationToken);
    }

    /// <summary>The result blobs of the job's finished chunks, in input order, with the lines each covers.</summary>
    public async Task<List<(long FirstLine, int Lines, string Digest)>> ResultsAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("SELECT first_line, lines, result_digest FROM job_chunks WHERE job_id = @id AND state = 'done' ORDER BY chunk");
        command.Bind("id", id);
        return await command.ReadAllAsync(reader => (reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)), cancellationToken);
    }

    /// <summary>Cancels a queued or running job (audited); its finished chunks keep their results. Null when there is no such job.</summary>
    public async Task<(JobRecord Job, bool Cancelled)?> CancelAsync(Guid id, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using var command = db.Command($"""
            UPDATE jobs SET state = 'cancelled', finished_at = now(), reason = 'cancelled by ' || @actor
            WHERE id = @id AND state IN ('queued', 'running')
            RETURNING {Columns}
            """);
        command.Bind("id", id);
        command.Bind("actor", actor);
        if ((await command.ReadAllAsync(Read, cancellationToken)) is not [var job])
        {
            await db.CommitAsync(cancellationToken);
            return await GetAsync(id, cancellationToken) is { } unchanged ? (unchanged, false) : null;
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.JobCancelled,
            Model: job.TargetKind == JobTargetKinds.Model ? job.Target : null,
            Target: $"job {job.Id}",
            Before: new { State = JobStates.Running },
            After: new { job.State, job.Done, job.Failed, job.Total }),
            cancellationToken);
        await db.CommitAsync(cancellationToken);
        return (job, true);
    }

    /// <summary>
    /// Leases the next chunk to score: one never started, or one whose lease ran out (its worker died), oldest job
    /// first. Marks the job running when it was queued. Null when there is none.
    /// </summary>
    public async Task<ChunkLease?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using var command = db.Command("""
            WITH next AS (
                SELECT c.job_id, c.chunk
                FROM job_chunks c JOIN jobs j ON j.id = c.job_id
                WHERE j.state IN ('queued', 'running')
                  AND (c.state = 'pending' OR (c.state = 'running' AND c.lease_until < now()))
                ORDER BY j.created_at, c.chunk
                LIMIT 1
                FOR UPDATE OF c SKIP LOCKED
            ), leased AS (
                UPDATE job_chunks c
                SET state = 'running', lease_owner = @owner, lease_until = now() + make_interval(secs => @lease_seconds), attempts = c.attempts + 1
                FROM next WHERE c.job_id = next.job_id AND c.chunk = next.chunk
                RETURNING c.job_id, c.chunk, c.first_line, c.lines, c.input_digest, c.attempts
            ), started AS (
                UPDATE jobs j SET state = 'running', started_at = coalesce(j.started_at, now())
                FROM leased WHERE j.id = leased.job_id AND j.state = 'queued'
            )
            SELECT l.job_id, l.chunk, l.first_line, l.lines, l.input_digest, l.attempts, j.target_kind, j.target, j.version
            FROM leased l JOIN jobs j ON j.id = l.job_id
            """);
        command.Bind("owner", owner);
        command.Bind("lease_seconds", lease.TotalSeconds);
        var leases = await command.ReadAllAsync(reader => new ChunkLease(
            reader.GetGuid(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetString(4), reader.GetInt32(5),
            reader.GetString(6), reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetInt64(8)), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return leases is [var claimed] ? claimed : null;
    }

    /// <summary>Extends the lease; false when it was lost (taken over) or the job no longer runs (cancelled, failed).</summary>
    public async Task<bool> RenewAsync(ChunkLease chunk, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("""
            UPDATE job_chunks c SET lease_until = now() + make_interval(secs => @lease_seconds)
            FROM jobs j
            WHERE c.job_id = @job AND c.chunk = @chunk AND c.state = 'running' AND c.lease_owner = @owner
              AND j.id = c.job_id AND j.state = 'running'
            """);
        command.Bind("job", chunk.JobId);
        command.Bind("chunk", chunk.Chunk);
        command.Bind("owner", owner);
        command.Bind("lease_seconds", lease.TotalSeconds);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Gives a chunk back unscored (its target is not served yet, or the worker stops), for any worker to take again.</summary>
    public async Task ReleaseAsync(ChunkLease chunk, string owner, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("""
            UPDATE job_chunks SET state = 'pending', lease_owner = NULL, lease_until = NULL
            WHERE job_id = @job AND chunk = @chunk AND state = 'running' AND lease_owner = @owner
            """);
        command.Bind("job", chunk.JobId);
        command.Bind("chunk", chunk.Chunk);
        command.Bind("owner", owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records a scored chunk's results, if <paramref name="owner"/> still holds its lease, and counts its lines on the
    /// job; the last chunk finishes the job (succeeded, or failed when every line failed) and notifies. Returns the job
    /// as it now stands, or null when the lease was lost: another worker scores (or scored) these lines, and this
    /// result is dropped.
    /// </summary>
    public async Task<JobRecord?> CompleteAsync(
        ChunkLease chunk, string owner, string resultDigest, int succeeded, int failed, string? firstError, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        JobRecord job;
        await using (var close = db.Command("""
            UPDATE job_chunks
            SET state = 'done', result_digest = @digest, succeeded = @succeeded, failed = @failed,
                lease_owner = NULL, lease_until = NULL, finished_at = now()
            WHERE job_id = @job AND chunk = @chunk AND state = 'running' AND lease_owner = @owner
            """))
        {
            close.Bind("job", chunk.JobId);
            close.Bind("chunk", chunk.Chunk);
            close.Bind("owner", owner);
            close.Bind("digest", resultDigest);
            close.Bind("succeeded", succeeded);
            close.Bind("failed", failed);
            if (await close.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                return null;
            }
        }
        await using (var count = db.Command($"""
            UPDATE jobs SET done = done + @lines, failed = failed + @failed,
                reason = CASE WHEN reason IS NULL AND @first_error::text IS NOT NULL THEN 'first failed line: ' || @first_error ELSE reason END
            WHERE id = @job
            RETURNING {Columns}
            """))
        {
            count.Bind("job", chunk.JobId);
            count.Bind("lines", (long)(succeeded + failed));
            count.Bind("failed", (long)failed);
            count.Bind("first_error", firstError);
            job = (await count.ReadAllAsync(Read, cancellationToken))[0];
        }
        if (job.Done == job.Total && job.State == JobStates.Running)
        {
            job = await FinishAsync(db, job, job.Failed == job.Total ? JobStates.Failed : JobStates.Succeeded,
                job.Failed == job.Total ? $"every line failed; {job.Reason}" : null, cancellationToken);
        }
        await db.CommitAsync(cancellationToken);
        return job;
    }

    /// <summary>Fails a running or queued job for a reason of its own (its target is gone); false when it had already ended.</summary>
    public async Task<bool> FailAsync(Guid id, string reason, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await using var command = db.Command($"SELECT {Columns} FROM jobs WHERE id = @id AND state IN ('queued', 'running') FOR UPDATE");
        command.Bind("id", id);
        if ((await command.ReadAllAsync(Read, cancellationToken)) is not [var job])
        {
            return false;
        }
        await FinishAsync(db, job, JobStates.Failed, reason, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Deletes jobs that finished before <paramref name="cutoff"/>, with their chunks (their blobs are then swept); returns how many.</summary>
    public async Task<int> DeleteFinishedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("DELETE FROM jobs WHERE finished_at < @cutoff");
        command.Bind("cutoff", cutoff.UtcDateTime);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<JobRecord> FinishAsync(Db db, JobRecord job, string state, string? reason, CancellationToken cancellationToken)
    {
        await using var command = db.Command($"""
            UPDATE jobs SET state = @state, reason = coalesce(@reason, reason), finished_at = now()
            WHERE id = @id
            RETURNING {Columns}
            """);
        command.Bind("id", job.Id);
        command.Bind("state", state);
        command.Bind("reason", reason);
        var finished = (await command.ReadAllAsync(Read, cancellationToken))[0];
        await notifications.EnqueueAsync(db, finished, cancellationToken);
        return finished;
    }

    private static JobRecord Read(NpgsqlDataReader reader) => new(
        Id: reader.GetGuid(0),
        TargetKind: reader.GetString(1),
        Target: reader.GetString(2),
        Version: reader.IsDBNull(3) ? null : reader.GetInt64(3),
        Revision: reader.IsDBNull(4) ? null : reader.GetInt64(4),
        InputFormat: reader.GetString(5),
        State: reader.GetString(6),
        Total: reader.GetInt64(7),
        Done: reader.GetInt64(8),
        Failed: reader.GetInt64(9),
        Reason: reader.IsDBNull(10) ? null : reader.GetString(10),
        WebhookUrl: reader.IsDBNull(11) ? null : reader.GetString(11),
        CreatedBy: reader.GetString(12),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(13),
        StartedAt: reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
        FinishedAt: reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15));
}

/// <summary>The stored names of what a job scores with.</summary>
internal static class JobTargetKinds
{
    public const string Model = "model";
    public const string Pipeline = "pipeline";
}
