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

    /// <summary>JWTs accepted on <c>/api/v1</c> beside API keys (section <c>Orchestrator:Jwt</c>; none while neither Authority nor SigningKey is set).</summary>
    public JwtIssuerOptions Jwt { get; set; } = new();
}

internal sealed class OrchestratorOptionsValidator : IValidateOptions<OrchestratorOptions>
{
    public ValidateOptionsResult Validate(string? name, OrchestratorOptions options)
    {
        const string section = OrchestratorOptions.SectionName;
        var failures = new OptionsFailures();
        if (string.IsNullOrWhiteSpace(options.ArtifactsPath))
        {
            failures.Add($"{section}:ArtifactsPath must name a directory for model artifacts.");
        }
        failures.AtLeast(section, options.MaxArtifactBytes, 1);
        failures.AtLeast(section, options.ReplicaHeartbeatIntervalSeconds, 1);
        if (options.ReplicaTtlSeconds <= options.ReplicaHeartbeatIntervalSeconds)
        {
            failures.Add(
                $"{section}:ReplicaTtlSeconds ({options.ReplicaTtlSeconds}) must be longer than ReplicaHeartbeatIntervalSeconds ({options.ReplicaHeartbeatIntervalSeconds}), or live replicas would be dropped between heartbeats.");
        }
        options.Jwt.Validate(section + ":Jwt", failures);
        return failures.Result();
    }
}
