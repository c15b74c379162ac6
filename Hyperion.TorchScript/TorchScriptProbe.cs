using Hyperion.Contracts.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Hyperion.TorchScript;

/// <summary>
/// Checks a loaded module against its config before it serves (and before the registry accepts it): forward()
/// is called once with zero-filled inputs shaped as the config says (batch 1, 1 for each variable dimension),
/// and what it returns must have the config's outputs' number, datatypes, ranks and fixed dimensions.
/// </summary>
public static class TorchScriptProbe
{
    public static void Check(jit.ScriptModule module, TorchScriptSignature signature)
    {
        var arguments = module.GetNumberOfInputs();
        if (arguments != signature.Inputs.Count)
        {
            throw new TorchScriptException(
                $"forward() takes {arguments} tensor{(arguments == 1 ? "" : "s")}, but the config lists {signature.Inputs.Count} input{(signature.Inputs.Count == 1 ? "" : "s")}");
        }
        var inputs = new object[signature.Inputs.Count];
        var outputs = new Tensor?[signature.Outputs.Count];
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                var input = signature.Inputs[i];
                inputs[i] = zeros(ProbeShape(input.Dims), input.ScalarType);
            }
            using (inference_mode())
            {
                object? result;
                try
                {
                    result = module.forward(inputs);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    throw new TorchScriptException(
                        $"forward() failed on zero-filled inputs shaped as the config says ({DescribeInputs(signature)}): {TorchScriptFile.FirstLine(ex.Message)}", ex);
                }
                TorchScriptResults.Collect(result, outputs);
            }
            for (var i = 0; i < outputs.Length; i++)
            {
                CheckOutput(signature.Outputs[i], outputs[i]!);
            }
        }
        finally
        {
            foreach (var input in inputs)
            {
                (input as Tensor)?.Dispose();
            }
            foreach (var output in outputs)
            {
                output?.Dispose();
            }
        }
    }

    private static void CheckOutput(TorchScriptTensor expected, Tensor actual)
    {
        if (actual.dtype != expected.ScalarType)
        {
            throw new TorchScriptException(
                $"output '{expected.Name}' has datatype {expected.DataType.ToOipName()} in the config, but forward() returns {TorchScriptTypes.NameOf(actual.dtype)}");
        }
        var shape = actual.shape;
        var matches = shape.Length == expected.Dims.Length;
        for (var d = 0; matches && d < shape.Length; d++)
        {
            // The batch dimension of a batched model is 1 here; a variable one is whatever the model made.
            matches = expected.Dims[d] == -1 || expected.Dims[d] == shape[d];
        }
        if (!matches)
        {
            throw new TorchScriptException(
                $"output '{expected.Name}' has dims {Format(expected.Dims)} in the config (batch dimension included), but forward() returns shape {Format(shape)} for batch 1");
        }
    }

    private static long[] ProbeShape(long[] dims)
    {
        var shape = new long[dims.Length];
        for (var d = 0; d < dims.Length; d++)
        {
            shape[d] = dims[d] < 0 ? 1 : dims[d];
        }
        return shape;
    }

    private static string DescribeInputs(TorchScriptSignature signature) =>
        string.Join(", ", signature.Inputs.Select(input => $"{input.Name} {input.DataType.ToOipName()} {Format(ProbeShape(input.Dims))}"));

    private static string Format(long[] dims) => $"[{string.Join(",", dims)}]";

}
