using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Quality;

/// <summary>Settings of the section <c>Orchestrator:Quality</c>: the drift schedule and when quality counts as degraded.</summary>
public sealed class QualityOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Quality";

    /// <summary>How often drift (and quality) is computed for every monitored deployment, by one orchestrator replica.</summary>
    public double DriftIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// Whether the orchestrator computes drift on its own schedule. Off when something else calls
    /// <c>POST /api/v1/drift/run</c> on a schedule (the published Kubernetes CronJob); the gauges are still refreshed
    /// every <see cref="DriftIntervalSeconds"/>.
    /// </summary>
    public bool ComputeOnSchedule { get; set; } = true;

    /// <summary>Drift results older than this are deleted (each version's latest is kept).</summary>
    public double DriftHistoryDays { get; set; } = 90;

    /// <summary>How far back labelled captures count when the schedule judges quality.</summary>
    public double QualityWindowHours { get; set; } = 24;

    /// <summary>Fewer labelled rows in that window give no quality judgement.</summary>
    public long MinLabelledRows { get; set; } = 50;

    /// <summary>
    /// A classifier's quality has degraded when its accuracy over labelled traffic falls more than this below the
    /// accuracy it was registered with (<see cref="MonitoredVersion.RegisteredAccuracy"/>).
    /// </summary>
    public double MaxAccuracyDrop { get; set; } = 0.05;
}

internal sealed class QualityOptionsValidator : IValidateOptions<QualityOptions>
{
    public ValidateOptionsResult Validate(string? name, QualityOptions options)
    {
        const string section = QualityOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.DriftIntervalSeconds, 1, 86_400);
        failures.Range(section, options.QualityWindowHours, 0.01, 24 * 366);
        failures.Range(section, options.DriftHistoryDays, 1, 3660);
        failures.AtLeast(section, options.MinLabelledRows, 1);
        failures.Range(section, options.MaxAccuracyDrop, 0, 1);
        return failures.Result();
    }
}
