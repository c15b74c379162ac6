using System.ComponentModel.DataAnnotations;

namespace Hyperion.AppHost.Supervision;

/// <summary>How crashed services are restarted; bound from "Hyperion:Supervision".</summary>
public sealed class SupervisionOptions
{
    public const string SectionName = "Hyperion:Supervision";

    /// <summary>The longest wait between restarts of a service that keeps crashing (waits double from 1 s).</summary>
    [Range(1, 300)]
    public int RestartBackoffMaxSeconds { get; set; } = 30;
}
