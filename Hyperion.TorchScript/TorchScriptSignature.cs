using System.Globalization;
using Hyperion.Contracts.Models;
using Hyperion.Contracts.Tensors;
using TorchSharp;

namespace Hyperion.TorchScript;

/// <summary>
/// What a TorchScript model's config says about it, in the order <c>forward</c> takes its arguments and returns
/// its results. TorchScript files carry no tensor names, so the config names them: inputs go to <c>forward</c>
/// in the order the config lists them and outputs are read from its result (one tensor, or a tuple or list of
/// tensors) in the order the config lists them, unless every name of a side follows Triton's positional
/// convention <c>&lt;name&gt;__&lt;index&gt;</c> (e.g. <c>INPUT__0</c>, <c>OUTPUT__1</c>), which places each tensor by its index.
/// </summary>
/// <param name="Inputs">Config inputs, in <c>forward</c>'s argument order.</param>
/// <param name="Outputs">Config outputs, in the result's order.</param>
/// <param name="InputOrder">For each config input (as listed), its position among <c>forward</c>'s arguments.</param>
/// <param name="OutputOrder">For each config output (as listed), its position in the result.</param>
public sealed record TorchScriptSignature(
    IReadOnlyList<TorchScriptTensor> Inputs,
    IReadOnlyList<TorchScriptTensor> Outputs,
    int[] InputOrder,
    int[] OutputOrder,
    bool Batched)
{
    /// <summary>Reads the inputs and outputs of a TorchScript model's config; a config that cannot describe one fails with why.</summary>
    public static TorchScriptSignature From(ModelConfig config)
    {
        if (config.Input.Count == 0 || config.Output.Count == 0)
        {
            throw new TorchScriptException(
                "a TorchScript model carries no signature, so its config must list every input and output " +
                "(name, datatype, dims) in the order forward() takes and returns them, or named INPUT__0, OUTPUT__0, ...");
        }
        var batched = config.MaxBatchSize > 0;
        var inputOrder = Order(config.Input, "input");
        var outputOrder = Order(config.Output, "output");
        return new TorchScriptSignature(
            Place(config.Input, inputOrder, "input", batched),
            Place(config.Output, outputOrder, "output", batched),
            inputOrder,
            outputOrder,
            batched);
    }

    private static int[] Order(IReadOnlyList<ModelTensorConfig> tensors, string role)
    {
        var order = new int[tensors.Count];
        var seen = new bool[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var name = tensors[i].Name;
            var separator = name.LastIndexOf("__", StringComparison.Ordinal);
            if (separator <= 0
                || !int.TryParse(name.AsSpan(separator + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                // Not every name is positional: the config's order is forward()'s order.
                for (var j = 0; j < order.Length; j++)
                {
                    order[j] = j;
                }
                return order;
            }
            if (index >= tensors.Count || seen[index])
            {
                throw new TorchScriptException(
                    $"{role} '{name}': positional names (<name>__<index>) must number the {tensors.Count} {role}s 0 to {tensors.Count - 1}, each once");
            }
            seen[index] = true;
            order[i] = index;
        }
        return order;
    }

    private static TorchScriptTensor[] Place(IReadOnlyList<ModelTensorConfig> tensors, int[] order, string role, bool batched)
    {
        var placed = new TorchScriptTensor[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            if (tensor.Dims is null)
            {
                throw new TorchScriptException($"{role} '{tensor.Name}' needs dims");
            }
            if (!TensorDataTypes.TryParse(tensor.DataType, out var dataType) || !TorchScriptTypes.TryToScalarType(dataType, out var scalarType))
            {
                throw new TorchScriptException(
                    $"{role} '{tensor.Name}' has datatype {tensor.DataType}, which TorchScript models cannot take or return; supported: {TorchScriptTypes.SupportedNames}");
            }
            placed[order[i]] = new TorchScriptTensor(tensor.Name, dataType, scalarType, batched ? [-1, .. tensor.Dims] : [.. tensor.Dims]);
        }
        return placed;
    }
}

/// <param name="Dims">Full shape, the batch dimension included (-1) when the model batches; -1 is variable.</param>
public sealed record TorchScriptTensor(string Name, TensorDataType DataType, torch.ScalarType ScalarType, long[] Dims);
