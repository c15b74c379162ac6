using System.Globalization;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>Settings of the section <c>Orchestrator:Rollouts</c>: the rollout controller and the blue-green grace period.</summary>
public sealed class RolloutOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Rollouts";

    /// <summary>How often the controller looks at every active rollout.</summary>
    public double TickSeconds { get; set; } = 1;

    /// <summary>
    /// How long the previous stable version stays loaded on the replicas after stable traffic moved off it, so that
    /// <c>POST .../rollback</c> switches back at once instead of waiting for a load. 0 unloads it at the switch.
    /// </summary>
    public int PreviousStableRetentionSeconds { get; set; } = 600;

    /// <summary>
    /// The latency gate compares the canary's p95 with max(stable's p95, this floor) × max_p95_latency_ratio: below a
    /// few milliseconds the statistics' bucket resolution and scheduling noise dominate, and a ratio means nothing.
    /// </summary>
    public double LatencyGateFloorMs { get; set; } = 10;
}

internal sealed class RolloutOptionsValidator : IValidateOptions<RolloutOptions>
{
    public ValidateOptionsResult Validate(string? name, RolloutOptions options)
    {
        const string section = RolloutOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.TickSeconds, 0.1, 60);
        if (options.PreviousStableRetentionSeconds < 0)
        {
            failures.Add($"{section}:PreviousStableRetentionSeconds must be 0 (unload at the switch) or more, got {options.PreviousStableRetentionSeconds}.");
        }
        if (options.LatencyGateFloorMs < 0 || double.IsNaN(options.LatencyGateFloorMs) || double.IsInfinity(options.LatencyGateFloorMs))
        {
            failures.Add($"{section}:LatencyGateFloorMs must be 0 or more milliseconds, got {Format(options.LatencyGateFloorMs)}.");
        }
        return failures.Result();
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
