using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Registry;

/// <summary>Settings of the section <c>Orchestrator:Registry</c>. The artifact limit and store path are <see cref="OrchestratorOptions"/>'s.</summary>
public sealed class RegistryOptions
{
    public const string SectionName = OrchestratorOptions.SectionName + ":Registry";

    /// <summary>
    /// <c>max_batch_size</c> given to an uploaded model without one in its config whose inputs and outputs all
    /// start with a variable dimension (as Triton's default-max-batch-size and the inference server's default).
    /// </summary>
    public int DefaultMaxBatchSize { get; set; } = 4;

    /// <summary>Largest <c>config</c>, <c>lineage</c> or <c>baseline_profile</c> part of an upload.</summary>
    public int MaxMetadataPartBytes { get; set; } = 16 << 20;

    /// <summary>How often the artifact store is swept for blobs no version refers to (an upload that stopped between storing its blob and registering the version).</summary>
    public int OrphanSweepIntervalSeconds { get; set; } = 3600;

    /// <summary>An unreferenced blob is removed only once it was committed this long ago, so an upload registering its version now keeps it.</summary>
    public int OrphanGraceSeconds { get; set; } = 3600;
}

internal sealed class RegistryOptionsValidator : IValidateOptions<RegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryOptions options)
    {
        const string section = RegistryOptions.SectionName;
        var failures = new OptionsFailures();
        failures.AtLeast(section, options.DefaultMaxBatchSize, 1);
        failures.AtLeast(section, options.MaxMetadataPartBytes, 1024);
        failures.AtLeast(section, options.OrphanSweepIntervalSeconds, 1);
        failures.AtLeast(section, options.OrphanGraceSeconds, 1);
        return failures.Result();
    }
}
