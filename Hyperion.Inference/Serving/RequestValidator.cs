using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Inference.Repository;

namespace Hyperion.Inference.Serving;

/// <summary>
/// Checks a request against the version's config before it is queued, so a bad request fails alone with a
/// message naming the input and what was expected, and never reaches (or breaks) a batch.
/// </summary>
internal static class RequestValidator
{
    /// <summary>Validates the inputs, puts them in the config's input order and returns the batch size (1 without a batch dimension).</summary>
    public static int ValidateInputs(InferenceRequest request, ModelSignature signature, string model)
    {
        var inputs = request.Inputs;
        var specs = signature.Inputs;
        Span<bool> seen = specs.Length <= 256 ? stackalloc bool[specs.Length] : new bool[specs.Length];
        foreach (var input in inputs)
        {
            var index = signature.IndexOfInput(input.Name);
            if (index < 0)
            {
                throw InferenceException.Invalid($"unknown input '{input.Name}' for model '{model}'; the model's inputs are {signature.InputNames}");
            }
            if (seen[index])
            {
                throw InferenceException.Invalid($"input '{input.Name}' is given more than once");
            }
            seen[index] = true;
        }
        for (var i = 0; i < specs.Length; i++)
        {
            if (!seen[i])
            {
                throw InferenceException.Invalid(
                    $"missing input '{specs[i].Name}' for model '{model}' (expected {specs[i].DataType.ToOipName()} {specs[i].ShapeText})");
            }
        }

        // Every name is known and present once: put each input at its config index.
        for (var i = 0; i < inputs.Count; i++)
        {
            int target;
            while ((target = signature.IndexOfInput(inputs[i].Name)) != i)
            {
                (inputs[i], inputs[target]) = (inputs[target], inputs[i]);
            }
        }

        var rows = -1;
        for (var i = 0; i < inputs.Count; i++)
        {
            var tensor = inputs[i];
            var spec = specs[i];
            if (tensor.DataType != spec.DataType)
            {
                throw InferenceException.Invalid(
                    $"input '{spec.Name}': expected datatype {spec.DataType.ToOipName()}, got {tensor.DataType.ToOipName()}");
            }
            CheckShape(tensor, spec, signature, ref rows, inputs[0].Name);
            CheckData(tensor, spec);
        }
        return signature.Batched ? rows : 1;
    }

    /// <summary>Indexes of the config outputs the request asks for, in its order; null means all of them.</summary>
    public static int[]? SelectOutputs(InferenceRequest request, ModelSignature signature, string model)
    {
        var requested = request.Outputs;
        if (requested is null || requested.Count == 0)
        {
            return null;
        }
        var selection = new int[requested.Count];
        for (var k = 0; k < selection.Length; k++)
        {
            var index = signature.IndexOfOutput(requested[k].Name);
            if (index < 0)
            {
                throw InferenceException.Invalid(
                    $"unknown output '{requested[k].Name}' requested from model '{model}'; the model's outputs are {signature.OutputNames}");
            }
            if (Array.IndexOf(selection, index, 0, k) >= 0)
            {
                throw InferenceException.Invalid($"output '{requested[k].Name}' is requested more than once");
            }
            selection[k] = index;
        }
        return selection;
    }

    private static void CheckShape(TensorData tensor, TensorSpec spec, ModelSignature signature, ref int rows, string firstInput)
    {
        var shape = tensor.Shape;
        var offset = signature.Batched ? 1 : 0;
        if (shape.Length != spec.Dims.Length + offset)
        {
            throw ShapeMismatch(tensor, spec);
        }
        if (signature.Batched)
        {
            var batch = shape[0];
            if (batch < 1)
            {
                throw InferenceException.Invalid($"input '{spec.Name}': batch size (dimension 0) must be at least 1, got {batch}");
            }
            if (batch > signature.MaxBatchSize)
            {
                throw InferenceException.Invalid(
                    $"input '{spec.Name}': batch size {batch} exceeds the model's max_batch_size {signature.MaxBatchSize}");
            }
            if (rows < 0)
            {
                rows = (int)batch;
            }
            else if (rows != batch)
            {
                throw InferenceException.Invalid(
                    $"input '{spec.Name}' has batch size {batch}, but input '{firstInput}' has {rows}; every input needs the same batch size");
            }
        }
        for (var d = 0; d < spec.Dims.Length; d++)
        {
            var actual = shape[offset + d];
            var expected = spec.Dims[d];
            if (actual < 0 || (expected != -1 && actual != expected))
            {
                throw ShapeMismatch(tensor, spec);
            }
        }
    }

    private static void CheckData(TensorData tensor, TensorSpec spec)
    {
        long elements;
        try
        {
            elements = 1;
            foreach (var dim in tensor.Shape)
            {
                elements = checked(elements * dim);
            }
        }
        catch (OverflowException)
        {
            throw InferenceException.Invalid($"input '{spec.Name}': shape {Format(tensor.Shape)} has more elements than can be served");
        }

        if (spec.DataType == TensorDataType.Bytes)
        {
            var count = TensorData.CountByteElements(tensor.Span);
            if (count < 0)
            {
                throw InferenceException.Invalid(
                    $"input '{spec.Name}': malformed BYTES data: an element's 4-byte length prefix runs past the end of the data");
            }
            if (count != elements)
            {
                throw InferenceException.Invalid(
                    $"input '{spec.Name}': shape {Format(tensor.Shape)} holds {elements} elements, got {count} BYTES elements");
            }
            return;
        }

        var expectedBytes = elements * spec.DataType.ElementSize();
        if (tensor.Length != expectedBytes)
        {
            throw InferenceException.Invalid(
                $"input '{spec.Name}': shape {Format(tensor.Shape)} needs {elements} {spec.DataType.ToOipName()} elements ({expectedBytes} bytes), " +
                $"got {tensor.Length} bytes ({tensor.Length / (double)spec.DataType.ElementSize():0.##} elements)");
        }
    }

    private static InferenceException ShapeMismatch(TensorData tensor, TensorSpec spec) =>
        InferenceException.Invalid($"input '{spec.Name}': expected shape {spec.ShapeText}, got {Format(tensor.Shape)}");

    private static string Format(long[] shape) => "[" + string.Join(',', shape) + "]";
}
