namespace Hyperion.Contracts.Models;

/// <summary>
/// The rules of a <see cref="ModelConfig"/> that the control plane (when a version is uploaded) and the inference
/// server (when it loads one) both apply, so a config the registry accepts is one a replica can load.
/// </summary>
public static class ModelConfigRules
{
    /// <summary>A config may pin a dimension the model leaves variable (-1), never contradict a fixed one.</summary>
    public static bool DimsAgree(IReadOnlyList<long> stated, IReadOnlyList<long> actual)
    {
        if (stated.Count != actual.Count)
        {
            return false;
        }
        for (var i = 0; i < actual.Count; i++)
        {
            if (actual[i] != -1 && stated[i] != actual[i])
            {
                return false;
            }
        }
        return true;
    }

    public static string FormatDims(IReadOnlyList<long> dims) => "[" + string.Join(',', dims) + "]";

    /// <summary>What is wrong with <c>dynamic_batching</c> given the final <c>max_batch_size</c>; null when nothing is.</summary>
    public static string? BatchSizeProblem(ModelConfig config)
    {
        if (config.DynamicBatching is not { } batching)
        {
            return null;
        }
        if (config.MaxBatchSize == 0)
        {
            return "dynamic_batching needs max_batch_size > 0 (the model must have a batch dimension)";
        }
        foreach (var preferred in batching.PreferredBatchSize)
        {
            if (preferred < 1 || preferred > config.MaxBatchSize)
            {
                return $"dynamic_batching.preferred_batch_size {preferred} must be between 1 and max_batch_size {config.MaxBatchSize}";
            }
        }
        return null;
    }
}
