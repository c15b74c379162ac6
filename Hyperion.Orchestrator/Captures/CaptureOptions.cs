using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Captures;

/// <summary>Settings of the section <c>Orchestrator:Captures</c>: how captured traffic is read from Redis, stored and expired.</summary>
public sealed class CaptureOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Captures";

    /// <summary>Stream entries read, and rows written in one statement, at a time.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long the ingestor waits before asking Redis again when the stream had nothing new.</summary>
    public int PollMilliseconds { get; set; } = 250;

    /// <summary>Entries another orchestrator read and did not acknowledge for this long (it stopped) are taken over.</summary>
    public int ClaimIdleSeconds { get; set; } = 60;

    /// <summary>How often captures older than their deployment's <c>retention_days</c> are deleted.</summary>
    public int RetentionSweepSeconds { get; set; } = 3600;
}

internal sealed class CaptureOptionsValidator : IValidateOptions<CaptureOptions>
{
    public ValidateOptionsResult Validate(string? name, CaptureOptions options)
    {
        const string section = CaptureOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.BatchSize, 1, 10_000);
        failures.Range(section, options.PollMilliseconds, 10, 60_000);
        failures.Range(section, options.ClaimIdleSeconds, 1, 86_400);
        failures.Range(section, options.RetentionSweepSeconds, 1, 86_400);
        return failures.Result();
    }
}
