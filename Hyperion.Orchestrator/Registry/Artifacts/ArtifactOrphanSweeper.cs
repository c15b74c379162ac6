using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>
/// Removes blobs no model version or batch job refers to once they are older than <see cref="RegistryOptions.OrphanGraceSeconds"/>:
/// what an upload leaves when it stops between storing its blob and registering the version (the orchestrator
/// killed, the database refusing the row), and the artifact of a deleted version no other version shares. Nothing is removed while the database cannot be asked. Orchestrators
/// sharing one store may sweep at the same time: each removal is a rename, so only one of them acts on a blob.
/// </summary>
internal sealed partial class ArtifactOrphanSweeper(
    FileSystemArtifactStore store,
    NpgsqlDataSource dataSource,
    IOptions<RegistryOptions> options,
    TimeProvider time,
    ILogger<ArtifactOrphanSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.RestoreSweptAside() is > 0 and var restored)
        {
            LogRestored(logger, restored);
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.OrphanSweepIntervalSeconds), time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow().UtcDateTime - TimeSpan.FromSeconds(options.Value.OrphanGraceSeconds);
        // Listed before the references are read: a version registered after this read was committed after the
        // listing, so its blob is newer than the cutoff and kept.
        var candidates = store.Blobs().Where(blob => blob.CommittedUtc < cutoff).ToList();
        if (candidates.Count == 0)
        {
            return;
        }
        var referenced = await ReferencedDigestsAsync(cancellationToken);
        long removedBytes = 0;
        var removed = 0;
        foreach (var (digest, size, _) in candidates)
        {
            if (!referenced.Contains(digest) && store.RemoveIfCommittedBefore(digest, cutoff))
            {
                removed++;
                removedBytes += size;
                LogRemoved(logger, digest, size);
            }
        }
        if (removed > 0)
        {
            LogSwept(logger, removed, removedBytes);
        }
    }

    private async Task<HashSet<string>> ReferencedDigestsAsync(CancellationToken cancellationToken)
    {
        // Batch jobs keep their chunks' input and results in the store too, until the job is deleted.
        await using var command = dataSource.CreateCommand("""
            SELECT digest FROM model_versions
            UNION SELECT input_digest FROM job_chunks
            UNION SELECT result_digest FROM job_chunks WHERE result_digest IS NOT NULL
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var digests = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            digests.Add(reader.GetString(0));
        }
        return digests;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed artifact {Digest} ({Bytes} bytes): no model version or job refers to it")]
    private static partial void LogRemoved(ILogger logger, string digest, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact sweep removed {Count} unreferenced blobs, {Bytes} bytes")]
    private static partial void LogSwept(ILogger logger, int count, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Put back {Count} artifacts an interrupted sweep had set aside")]
    private static partial void LogRestored(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact sweep skipped, nothing removed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
