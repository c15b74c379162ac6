using System.Diagnostics;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Artifacts;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Scores jobs' chunks: <see cref="JobsOptions.Workers"/> loops, each leasing one chunk at a time from any job
/// (<see cref="JobStore.ClaimAsync"/>), renewing the lease while it scores, storing the chunk's results in the artifact
/// store and closing the chunk. Every orchestrator replica with workers takes part; a replica that dies mid-chunk
/// leaves a lease that runs out, and another worker scores that chunk again from its start. Idle loops wake on a
/// submission (PostgreSQL NOTIFY) or every <see cref="JobsOptions.PollSeconds"/>.
/// </summary>
internal sealed partial class JobWorker(
    JobStore store,
    JobTargets targets,
    ChunkScorer scorer,
    InferenceClient client,
    JobsGatewayKey gatewayKey,
    IArtifactStore artifacts,
    JobMetrics metrics,
    IOptions<JobsOptions> options,
    NpgsqlDataSource dataSource,
    ILogger<JobWorker> logger) : BackgroundService
{
    /// <summary>The PostgreSQL channel a submission notifies.</summary>
    public const string Channel = "hyperion_jobs";

    private static readonly TimeSpan RetentionInterval = TimeSpan.FromHours(1);
    private static readonly ActivitySource s_activity = new(JobMetrics.MeterName);

    private readonly WakeSignal _wake = new();
    private readonly string _process = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    private readonly Dictionary<Guid, DateTime> _unservedSince = [];
    private DateTime _nextRetention = DateTime.MinValue;

    private JobsOptions Settings => options.Value;

    private TimeSpan Lease => TimeSpan.FromSeconds(Settings.LeaseSeconds);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Settings.Workers == 0)
        {
            LogNoWorkers(logger);
            return Task.CompletedTask;
        }
        LogStarted(logger, Settings.Workers, _process);
        var loops = new List<Task>(Settings.Workers + 1) { ListenAsync(stoppingToken) };
        for (var worker = 0; worker < Settings.Workers; worker++)
        {
            loops.Add(WorkAsync(worker, stoppingToken));
        }
        return Task.WhenAll(loops);
    }

    private async Task WorkAsync(int worker, CancellationToken stopping)
    {
        var owner = $"{_process}/{worker}";
        while (!stopping.IsCancellationRequested)
        {
            var woken = _wake.Current;
            try
            {
                if (await store.ClaimAsync(owner, Lease, stopping) is { } chunk)
                {
                    await ScoreAsync(chunk, owner, stopping);
                    continue;
                }
                if (worker == 0 && DateTime.UtcNow >= _nextRetention)
                {
                    _nextRetention = DateTime.UtcNow + RetentionInterval;
                    if (await store.DeleteFinishedBeforeAsync(DateTimeOffset.UtcNow - TimeSpan.FromDays(Settings.RetentionDays), stopping) is > 0 and var deleted)
                    {
                        LogDeleted(logger, deleted, Settings.RetentionDays);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database is down or restarting: the chunks are safe where they are, and leases run out.
                LogWorkerFailed(logger, ex, worker);
            }
            await Task.WhenAny(woken, Task.Delay(TimeSpan.FromSeconds(Settings.PollSeconds), stopping));
        }
    }

    private async Task ScoreAsync(ChunkLease chunk, string owner, CancellationToken stopping)
    {
        using var activity = s_activity.StartActivity("job chunk");
        activity?.SetTag("hyperion.job.id", chunk.JobId);
        activity?.SetTag("hyperion.job.chunk", chunk.Chunk);
        var started = Stopwatch.GetTimestamp();
        using var scoring = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var renewal = RenewUntilDoneAsync(chunk, owner, scoring);
        try
        {
            var target = await targets.LoadAsync(chunk.TargetKind, chunk.Target, chunk.Version, scoring.Token);
            if (target is null)
            {
                await FailJobAsync(chunk, chunk.TargetKind == JobTargetKinds.Pipeline
                    ? $"pipeline '{chunk.Target}' no longer exists, or one of its steps' models has no version to run (deleted while the job ran)"
                    : $"version {chunk.Version} of '{chunk.Target}' no longer exists (deleted while the job ran)");
                return;
            }
            if (await ServingAsync(chunk, target, owner, scoring.Token) is not { } urls)
            {
                return;
            }
            var input = await ReadInputAsync(chunk, scoring.Token);
            using var result = await scorer.ScoreAsync(
                input, chunk.FirstLine, target, await SenderAsync(target, urls, scoring.Token),
                finalAttempt: chunk.Attempts >= Settings.MaxChunkAttempts, scoring.Token);
            using var content = new MemoryStream(result.Lines.WrittenMemory.ToArray(), writable: false);
            var stored = await artifacts.PutAsync(content, long.MaxValue, scoring.Token);
            if (await store.CompleteAsync(chunk, owner, stored.Digest, result.Succeeded, result.Failed, result.FirstError, scoring.Token) is { } job)
            {
                metrics.RecordChunk(result.Succeeded, result.Failed, Stopwatch.GetElapsedTime(started));
                LogChunkScored(logger, chunk.JobId, chunk.Chunk, job.Done, job.Total, job.Failed, job.State);
            }
            else
            {
                LogLeaseLost(logger, chunk.JobId, chunk.Chunk);
            }
        }
        catch (TargetUnavailableException ex)
        {
            LogGivenBack(logger, chunk.JobId, chunk.Chunk, chunk.Attempts, ex.Message);
            await store.ReleaseAsync(chunk, owner, CancellationToken.None);
        }
        catch (OperationCanceledException) when (scoring.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            // The lease was lost, or the job cancelled: whoever holds the chunk now scores it, or nobody does.
            LogLeaseLost(logger, chunk.JobId, chunk.Chunk);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: give the chunk back at once rather than leave it until its lease runs out.
            await store.ReleaseAsync(chunk, owner, CancellationToken.None);
            throw;
        }
        finally
        {
            await scoring.CancelAsync();
            await renewal;
        }
    }

    /// <summary>
    /// Sends each batch to the next of <paramref name="urls"/> (replicas or gateways), asking again where to send after
    /// a batch found nobody; a pipeline's batches carry this process's gateway key.
    /// </summary>
    private async Task<BatchSender> SenderAsync(JobTarget target, IReadOnlyList<string> urls, CancellationToken cancellationToken)
    {
        var path = InferenceClient.PathOf(target);
        var bearer = target.Kind == JobTargetKinds.Pipeline ? await gatewayKey.GetAsync(cancellationToken) : null;
        var next = Random.Shared.Next(urls.Count);
        return async (inputs, token) =>
        {
            var current = urls;
            var answer = await client.InferAsync(current[Interlocked.Increment(ref next) % current.Count], path, bearer, inputs, token);
            if (answer.Status != 200 && !answer.IsRequestError
                && (await targets.ServingAsync(target, token)).Urls is { Count: > 0 } refreshed)
            {
                urls = refreshed;
            }
            return answer;
        };
    }

    /// <summary>
    /// Where the chunk's batches can go; null when nowhere, after giving the chunk back, or failing the job when its
    /// version left the deployment or has not been served for <see cref="JobsOptions.TargetWaitSeconds"/>.
    /// </summary>
    private async Task<IReadOnlyList<string>?> ServingAsync(ChunkLease chunk, JobTarget target, string owner, CancellationToken cancellationToken)
    {
        var (urls, exists) = await targets.ServingAsync(target, cancellationToken);
        if (urls.Count > 0)
        {
            lock (_unservedSince)
            {
                _unservedSince.Remove(chunk.JobId);
            }
            return urls;
        }
        if (!exists)
        {
            await FailJobAsync(chunk, $"version {chunk.Version} of '{chunk.Target}' is no longer deployed: its deployment stopped holding it while the job ran");
            return null;
        }
        DateTime since;
        lock (_unservedSince)
        {
            since = _unservedSince.TryAdd(chunk.JobId, DateTime.UtcNow) ? DateTime.UtcNow : _unservedSince[chunk.JobId];
        }
        var what = target.Kind == JobTargetKinds.Pipeline ? $"no gateway is known to run pipeline '{target.Name}'" : $"no replica has served version {target.Version} of '{target.Name}'";
        if (DateTime.UtcNow - since > TimeSpan.FromSeconds(Settings.TargetWaitSeconds))
        {
            await FailJobAsync(chunk, $"{what} for {Settings.TargetWaitSeconds:0} s ({JobsOptions.SectionName}:TargetWaitSeconds)");
            return null;
        }
        LogWaiting(logger, chunk.JobId, what);
        await store.ReleaseAsync(chunk, owner, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(Settings.PollSeconds), cancellationToken);
        return null;
    }

    private async Task FailJobAsync(ChunkLease chunk, string reason)
    {
        if (await store.FailAsync(chunk.JobId, reason, CancellationToken.None))
        {
            LogJobFailed(logger, chunk.JobId, reason);
        }
    }

    private async Task<ReadOnlyMemory<byte>> ReadInputAsync(ChunkLease chunk, CancellationToken cancellationToken)
    {
        await using var stream = await artifacts.OpenReadAsync(chunk.InputDigest, cancellationToken)
            ?? throw new InvalidOperationException($"the input of chunk {chunk.Chunk} of job {chunk.JobId} ({chunk.InputDigest}) is missing from the artifact store");
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>Renews the lease every third of its length until scoring ends; cancels the scoring when the lease is lost or the job stops.</summary>
    private async Task RenewUntilDoneAsync(ChunkLease chunk, string owner, CancellationTokenSource scoring)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Lease / 3, scoring.Token);
                if (!await store.RenewAsync(chunk, owner, Lease, scoring.Token))
                {
                    await scoring.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The database is away: keep scoring; if the lease runs out meanwhile, closing the chunk finds out.
            LogRenewFailed(logger, ex, chunk.JobId, chunk.Chunk);
        }
    }

    /// <summary>LISTENs on <see cref="Channel"/> and wakes the idle loops on each submission; reconnects when the connection drops.</summary>
    private async Task ListenAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var db = await Db.OpenAsync(dataSource, stopping);
                db.Connection.Notification += (_, _) => _wake.Pulse();
                await using (var listen = db.Command($"LISTEN {Channel}"))
                {
                    await listen.ExecuteNonQueryAsync(stopping);
                }
                _wake.Pulse();
                while (true)
                {
                    if (!await db.Connection.WaitAsync(TimeSpan.FromSeconds(30), stopping))
                    {
                        await using var check = db.Command("SELECT 1");
                        await check.ExecuteScalarAsync(stopping);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenFailed(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Settings.PollSeconds), stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Orchestrator:Jobs:Workers is 0: this replica scores no batch jobs")]
    private static partial void LogNoWorkers(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job workers started: {Workers} chunks at a time, as {Process}")]
    private static partial void LogStarted(ILogger logger, int workers, string process);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: chunk {Chunk} scored; {Done} of {Total} lines done, {Failed} failed ({State})")]
    private static partial void LogChunkScored(ILogger logger, Guid jobId, int chunk, long done, long total, long failed, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: chunk {Chunk}'s lease was lost (taken over after it ran out, or the job was cancelled); its result here is dropped")]
    private static partial void LogLeaseLost(ILogger logger, Guid jobId, int chunk);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: chunk {Chunk} given back after attempt {Attempt}: {Reason}")]
    private static partial void LogGivenBack(ILogger logger, Guid jobId, int chunk, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} waits: {What} yet")]
    private static partial void LogWaiting(ILogger logger, Guid jobId, string what);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} failed: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} jobs that finished more than {Days} days ago, with their input and results")]
    private static partial void LogDeleted(ILogger logger, int count, double days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job worker {Worker} failed; trying again shortly")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception, int worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of job {JobId} chunk {Chunk} failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, Guid jobId, int chunk);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for job submissions failed; polling until it reconnects")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
