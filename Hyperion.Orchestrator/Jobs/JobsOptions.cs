using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>Settings of the section <c>Orchestrator:Jobs</c>: batch jobs and the workers that score them.</summary>
public sealed class JobsOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Jobs";

    /// <summary>
    /// Chunks this replica scores at once; 0 takes no job work (a replica kept for the control plane). Every replica
    /// with workers shares every job's chunks.
    /// </summary>
    public int Workers { get; set; } = 2;

    /// <summary>
    /// Batches one chunk has in flight at once. With <see cref="Workers"/> this caps the requests a replica's jobs
    /// put on the inference replicas, which is how jobs leave room for interactive traffic.
    /// </summary>
    public int BatchesInFlight { get; set; } = 2;

    /// <summary>Lines per chunk: the unit a worker leases, and that is scored again when a worker dies holding it.</summary>
    public int ChunkLines { get; set; } = 2048;

    /// <summary>How long a chunk's lease lasts without renewal; a worker renews it every third of this while it scores.</summary>
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>Attempts at a chunk (leases taken, failed batches retried within one) before its remaining lines fail with the last error.</summary>
    public int MaxChunkAttempts { get; set; } = 5;

    /// <summary>How long a job waits for a replica to serve its version before it fails (a version being loaded or restarted is waited for).</summary>
    public double TargetWaitSeconds { get; set; } = 120;

    /// <summary>Largest input file a submission may carry; larger ones get 413.</summary>
    public long MaxInputBytes { get; set; } = 1L << 30;

    /// <summary>Largest single input line.</summary>
    public int MaxLineBytes { get; set; } = 4 << 20;

    /// <summary>Finished jobs older than this are deleted with their input and results.</summary>
    public double RetentionDays { get; set; } = 7;

    /// <summary>How often an idle worker looks for work when no submission woke it.</summary>
    public double PollSeconds { get; set; } = 2;
}

internal sealed class JobsOptionsValidator : IValidateOptions<JobsOptions>
{
    public ValidateOptionsResult Validate(string? name, JobsOptions options)
    {
        const string section = JobsOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.Workers, 0, 256);
        failures.Range(section, options.BatchesInFlight, 1, 64);
        failures.Range(section, options.ChunkLines, 1, 1_000_000);
        failures.Range(section, options.LeaseSeconds, 3, 3600);
        failures.Range(section, options.MaxChunkAttempts, 1, 100);
        failures.Range(section, options.TargetWaitSeconds, 1, 86_400);
        failures.AtLeast(section, options.MaxInputBytes, 1);
        failures.Range(section, options.MaxLineBytes, 16, 1 << 30);
        failures.Range(section, options.RetentionDays, 0.001, 3660);
        failures.Range(section, options.PollSeconds, 0.1, 600);
        return failures.Result();
    }
}
