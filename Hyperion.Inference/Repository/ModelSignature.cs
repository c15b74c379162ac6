using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Inference.Repository;

/// <summary>An input or output of a loaded version, pre-digested from its config for per-request checks.</summary>
internal sealed class TensorSpec
{
    public TensorSpec(string name, TensorDataType dataType, long[] dims, bool batched)
    {
        Name = name;
        DataType = dataType;
        Dims = dims;
        HasVariableDims = Array.IndexOf(dims, -1L) >= 0;
        ShapeText = batched ? "[-1" + (dims.Length > 0 ? "," : "") + string.Join(',', dims) + "]" : "[" + string.Join(',', dims) + "]";
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    /// <summary>Config dims: without the batch dimension when the model batches; -1 is variable.</summary>
    public long[] Dims { get; }

    public bool HasVariableDims { get; }

    /// <summary>The full shape clients must send, batch dimension as -1, e.g. "[-1,64]".</summary>
    public string ShapeText { get; }
}

/// <summary>The effective config of a loaded version in the form the dispatcher, batcher and backend use.</summary>
internal sealed class ModelSignature
{
    public ModelSignature(ModelConfig config)
    {
        MaxBatchSize = config.MaxBatchSize;
        Inputs = ToSpecs(config.Input, MaxBatchSize > 0);
        Outputs = ToSpecs(config.Output, MaxBatchSize > 0);
        foreach (var input in Inputs)
        {
            HasVariableInputDims |= input.HasVariableDims;
        }
        InputNames = JoinNames(Inputs);
        OutputNames = JoinNames(Outputs);
    }

    public int MaxBatchSize { get; }

    public bool Batched => MaxBatchSize > 0;

    public TensorSpec[] Inputs { get; }

    public TensorSpec[] Outputs { get; }

    /// <summary>True when requests may differ in a non-batch dimension, so the batcher must compare shapes.</summary>
    public bool HasVariableInputDims { get; }

    /// <summary>"a, b" for messages that say what was expected.</summary>
    public string InputNames { get; }

    public string OutputNames { get; }

    public int IndexOfInput(string name) => IndexOf(Inputs, name);

    public int IndexOfOutput(string name) => IndexOf(Outputs, name);

    private static int IndexOf(TensorSpec[] specs, string name)
    {
        for (var i = 0; i < specs.Length; i++)
        {
            if (string.Equals(specs[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private static TensorSpec[] ToSpecs(IReadOnlyList<ModelTensorConfig> tensors, bool batched)
    {
        var specs = new TensorSpec[tensors.Count];
        for (var i = 0; i < specs.Length; i++)
        {
            var tensor = tensors[i];
            if (!TensorDataTypes.TryParse(tensor.DataType, out var dataType))
            {
                throw new ModelLoadException($"'{tensor.Name}' has unknown datatype '{tensor.DataType}'; expected one of {TensorDataTypes.SupportedNames}");
            }
            specs[i] = new TensorSpec(tensor.Name, dataType, [.. tensor.Dims], batched);
        }
        return specs;
    }

    private static string JoinNames(TensorSpec[] specs)
    {
        var names = new string[specs.Length];
        for (var i = 0; i < specs.Length; i++)
        {
            names[i] = specs[i].Name;
        }
        return string.Join(", ", names);
    }
}
