using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>What a job's lines are scored by, as its workers need it.</summary>
/// <param name="Version">The version every line is scored by.</param>
/// <param name="MaxBatchSize">The model's <c>max_batch_size</c>: lines per request; 0 means the model takes no batch dimension, one line a request.</param>
internal sealed record JobTarget(string Model, long Version, IReadOnlyList<JobInput> Inputs, int MaxBatchSize)
{
    /// <summary>The target as the version's repository config describes it; null when an input's datatype is unknown (the registry never stores one).</summary>
    public static JobTarget? From(string model, long version, ModelConfig config)
    {
        var inputs = new List<JobInput>(config.Input.Count);
        foreach (var input in config.Input)
        {
            if (!TensorDataTypes.TryParse(input.DataType, out var dataType))
            {
                return null;
            }
            inputs.Add(new JobInput(input.Name, dataType, [.. input.Dims]));
        }
        return new JobTarget(model, version, inputs, config.MaxBatchSize);
    }
}

/// <summary>A model input: its datatype and its dims without the batch dimension (-1 is variable).</summary>
internal sealed record JobInput(string Name, TensorDataType DataType, long[] Dims);
