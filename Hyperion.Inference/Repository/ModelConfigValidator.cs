using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Inference.Repository;

/// <summary>Checks a config for mistakes that need no model file; each failure names the field and what was expected.</summary>
internal static class ModelConfigValidator
{
    public static void Validate(ModelConfig config, string modelName)
    {
        if (config.Name is { Length: > 0 } name && !string.Equals(name, modelName, StringComparison.Ordinal))
        {
            Fail($"name '{name}' does not match the model's folder name '{modelName}'");
        }
        if (config.Platform is { } platform && ModelPlatforms.Canonical(platform) is null)
        {
            Fail($"platform '{platform}' is not supported; expected {ModelPlatforms.SupportedNames}");
        }
        if (config.MaxBatchSize < 0)
        {
            Fail($"max_batch_size must be 0 (no batch dimension) or positive, got {config.MaxBatchSize}");
        }
        ValidateTensors(config.Input, "input");
        ValidateTensors(config.Output, "output");
        ValidateBatching(config);
        ValidateInstanceGroups(config.InstanceGroup);
        ValidateVersionPolicy(config.VersionPolicy);
        if (config.Optimization is { } optimization)
        {
            if (optimization.IntraOpThreads < 0)
            {
                Fail($"optimization.intra_op_threads must be 0 (ONNX Runtime chooses) or positive, got {optimization.IntraOpThreads}");
            }
            if (optimization.InterOpThreads < 0)
            {
                Fail($"optimization.inter_op_threads must be 0 (ONNX Runtime chooses) or positive, got {optimization.InterOpThreads}");
            }
            Backends.Onnx.OnnxSessionOptionsFactory.ParseLevel(optimization.GraphOptimizationLevel);
        }
    }

    /// <summary>Rules that depend on the final max_batch_size, checked again after auto-complete.</summary>
    public static void ValidateBatching(ModelConfig config)
    {
        if (config.DynamicBatching is not { } batching)
        {
            return;
        }
        if (ModelConfigRules.BatchSizeProblem(config) is { } problem)
        {
            Fail(problem);
        }
        if (batching.MaxQueueDelayMicroseconds < 0)
        {
            Fail($"dynamic_batching.max_queue_delay_microseconds must not be negative, got {batching.MaxQueueDelayMicroseconds}");
        }
        if (batching.MaxQueueSize < 0)
        {
            Fail($"dynamic_batching.max_queue_size must be 0 (server default) or positive, got {batching.MaxQueueSize}");
        }
        if (batching.DefaultTimeoutMicroseconds < 0)
        {
            Fail($"dynamic_batching.default_timeout_microseconds must be 0 (no timeout) or positive, got {batching.DefaultTimeoutMicroseconds}");
        }
    }

    private static void ValidateTensors(IReadOnlyList<ModelTensorConfig> tensors, string role)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (string.IsNullOrEmpty(tensor.Name))
            {
                Fail($"every {role} needs a name");
            }
            if (!seen.Add(tensor.Name))
            {
                Fail($"{role} '{tensor.Name}' is listed twice");
            }
            if (!TensorDataTypes.TryParse(tensor.DataType, out _))
            {
                Fail($"{role} '{tensor.Name}' has unknown datatype '{tensor.DataType}'; expected one of {TensorDataTypes.SupportedNames}");
            }
            if (tensor.Dims is null)
            {
                Fail($"{role} '{tensor.Name}' needs dims");
            }
            foreach (var dim in tensor.Dims!)
            {
                if (dim is 0 or < -1)
                {
                    Fail($"{role} '{tensor.Name}' dims [{string.Join(',', tensor.Dims)}]: each dim must be positive or -1 (variable)");
                }
            }
        }
    }

    private static void ValidateInstanceGroups(IReadOnlyList<InstanceGroupConfig> groups)
    {
        foreach (var group in groups)
        {
            if (group.Count < 1)
            {
                Fail($"instance_group count must be at least 1, got {group.Count}");
            }
            if (!string.Equals(group.Kind, "cpu", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(group.Kind, "gpu", StringComparison.OrdinalIgnoreCase))
            {
                Fail($"instance_group kind '{group.Kind}' is not supported; expected \"cpu\" or \"gpu\"");
            }
            foreach (var gpu in group.Gpus ?? [])
            {
                if (gpu < 0)
                {
                    Fail($"instance_group gpus must be device ids (0 or more), got {gpu}");
                }
            }
        }
    }

    private static void ValidateVersionPolicy(VersionPolicyConfig? policy)
    {
        if (policy is null)
        {
            return;
        }
        var set = (policy.Latest is null ? 0 : 1) + (policy.All is null ? 0 : 1) + (policy.Specific is null ? 0 : 1);
        if (set > 1)
        {
            Fail("version_policy must set exactly one of latest, all, specific");
        }
        if (policy.Latest is { NumVersions: < 1 } latest)
        {
            Fail($"version_policy.latest.num_versions must be at least 1, got {latest.NumVersions}");
        }
        if (policy.Specific is { } specific)
        {
            if (specific.Versions is null || specific.Versions.Count == 0)
            {
                Fail("version_policy.specific.versions must list at least one version");
            }
            foreach (var version in specific.Versions!)
            {
                if (version < 1)
                {
                    Fail($"version_policy.specific.versions must be positive integers, got {version}");
                }
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string message) => throw new ModelLoadException($"invalid {ModelConfigSource.FileName}: {message}");
}
