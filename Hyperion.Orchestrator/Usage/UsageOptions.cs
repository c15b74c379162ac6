using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Usage;

/// <summary>Settings of the section <c>Orchestrator:Usage</c>: how often the gateways' usage counts move into PostgreSQL.</summary>
public sealed class UsageOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Usage";

    /// <summary>How often the counts in Redis are moved into <c>usage_daily</c> (what <c>GET /api/v1/usage</c> reads).</summary>
    public int FlushSeconds { get; set; } = 10;

    /// <summary>How long the ids of moved batches are kept (a batch older than this is never retried).</summary>
    public int BatchMemoryDays { get; set; } = 7;
}

internal sealed class UsageOptionsValidator : IValidateOptions<UsageOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageOptions options)
    {
        const string section = UsageOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.FlushSeconds, 1, 3600);
        failures.Range(section, options.BatchMemoryDays, 1, 365);
        return failures.Result();
    }
}
