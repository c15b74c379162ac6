namespace Hyperion.Orchestrator.Jobs;

/// <summary>A <c>jobs</c> row.</summary>
internal sealed record JobRecord(
    Guid Id,
    string TargetKind,
    string Target,
    long? Version,
    long? Revision,
    string InputFormat,
    string State,
    long Total,
    long Done,
    long Failed,
    string? Reason,
    string? WebhookUrl,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt)
{
    public bool IsFinished => State is JobStates.Succeeded or JobStates.Failed or JobStates.Cancelled;
}

/// <summary>The stored names of a job's states.</summary>
internal static class JobStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>A chunk of a job's input, cut at submission.</summary>
internal sealed record NewChunk(long FirstLine, int Lines, string InputDigest);

/// <summary>A chunk a worker holds the lease of, with what it needs to score it.</summary>
/// <param name="Attempts">Leases taken on it so far, this one included.</param>
/// <param name="Version">The model version a model job pinned; null for a pipeline job.</param>
internal sealed record ChunkLease(Guid JobId, int Chunk, long FirstLine, int Lines, string InputDigest, int Attempts, string TargetKind, string Target, long? Version);
