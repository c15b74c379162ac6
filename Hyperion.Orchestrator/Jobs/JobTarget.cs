using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>What a job's lines are scored by, as its workers need it: a model version, or a pipeline.</summary>
/// <param name="Kind"><see cref="JobTargetKinds.Model"/> or <see cref="JobTargetKinds.Pipeline"/>.</param>
/// <param name="Version">The model version every line is scored by; a pipeline's revision.</param>
/// <param name="Inputs">What a line holds: the model's inputs, or the tensors a pipeline takes from its request.</param>
/// <param name="MaxBatchSize">Lines per request; 0 means no batch dimension (a model, or a step of the pipeline, takes none), one line a request.</param>
/// <param name="Models">The models its lines call: a caller needs the right to call each.</param>
internal sealed record JobTarget(string Kind, string Name, long Version, IReadOnlyList<JobInput> Inputs, int MaxBatchSize, IReadOnlyList<string> Models)
{
    /// <summary>The target as the version's repository config describes it; null when an input's datatype is unknown (the registry never stores one).</summary>
    public static JobTarget? Model(string model, long version, ModelConfig config)
    {
        var inputs = new List<JobInput>(config.Input.Count);
        foreach (var input in config.Input)
        {
            if (JobInput.From(input) is not { } parsed)
            {
                return null;
            }
            inputs.Add(parsed);
        }
        return new JobTarget(JobTargetKinds.Model, model, version, inputs, config.MaxBatchSize, [model]);
    }
}

/// <summary>An input a line holds: its datatype and its dims without the batch dimension (-1 is variable).</summary>
internal sealed record JobInput(string Name, TensorDataType DataType, long[] Dims)
{
    public static JobInput? From(ModelTensorConfig input, string? name = null) =>
        TensorDataTypes.TryParse(input.DataType, out var dataType) ? new JobInput(name ?? input.Name, dataType, [.. input.Dims]) : null;
}
