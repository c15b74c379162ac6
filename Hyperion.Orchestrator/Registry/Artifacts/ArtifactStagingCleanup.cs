namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>At start-up, removes uploads that an orchestrator which is no longer running left half-written.</summary>
internal sealed partial class ArtifactStagingCleanup(FileSystemArtifactStore store, ILogger<ArtifactStagingCleanup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var removed = store.RemoveAbandonedStaging();
        if (removed > 0)
        {
            LogRemoved(logger, removed, store.Root);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} unfinished upload files left by stopped orchestrators under {Root}")]
    private static partial void LogRemoved(ILogger logger, int count, string root);
}
