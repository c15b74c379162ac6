using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator;

/// <summary>Settings of the section <c>Orchestrator</c>.</summary>
public sealed class OrchestratorOptions
{
    public const string SectionName = "Orchestrator";

    /// <summary>Where the bootstrap admin key is written on first start (mode 0600). Empty: none is issued.</summary>
    public string? AdminKeyPath { get; set; }

    /// <summary>Root of the file-system artifact store (content-addressed by SHA-256).</summary>
    public string ArtifactsPath { get; set; } = Path.Combine(".hyperion", "artifacts");

    /// <summary>Largest model artifact an upload may carry; larger uploads get 413.</summary>
    public long MaxArtifactBytes { get; set; } = 1L << 30;

    /// <summary>How often inference replicas heartbeat (told to them in each answer).</summary>
    public int ReplicaHeartbeatIntervalSeconds { get; set; } = 2;

    /// <summary>A replica not heard from for this long no longer counts as live.</summary>
    public int ReplicaTtlSeconds { get; set; } = 10;
}

internal sealed class OrchestratorOptionsValidator : IValidateOptions<OrchestratorOptions>
{
    public ValidateOptionsResult Validate(string? name, OrchestratorOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ArtifactsPath))
        {
            failures.Add($"{OrchestratorOptions.SectionName}:ArtifactsPath must name a directory for model artifacts.");
        }
        if (options.MaxArtifactBytes < 1)
        {
            failures.Add($"{OrchestratorOptions.SectionName}:MaxArtifactBytes must be at least 1, got {options.MaxArtifactBytes}.");
        }
        if (options.ReplicaHeartbeatIntervalSeconds < 1)
        {
            failures.Add($"{OrchestratorOptions.SectionName}:ReplicaHeartbeatIntervalSeconds must be at least 1, got {options.ReplicaHeartbeatIntervalSeconds}.");
        }
        if (options.ReplicaTtlSeconds <= options.ReplicaHeartbeatIntervalSeconds)
        {
            failures.Add(
                $"{OrchestratorOptions.SectionName}:ReplicaTtlSeconds ({options.ReplicaTtlSeconds}) must be longer than ReplicaHeartbeatIntervalSeconds ({options.ReplicaHeartbeatIntervalSeconds}), or live replicas would be dropped between heartbeats.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
