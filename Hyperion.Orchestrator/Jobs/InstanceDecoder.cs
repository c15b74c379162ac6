using System.Text.Json;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// One input line, a JSON object mapping each model input to its data without the batch dimension (flat or nested),
/// read straight into pooled tensors of the input's dims. A -1 dim is taken from the data when it is the only one.
/// </summary>
internal static class InstanceDecoder
{
    /// <summary>The line's tensors in the order of <see cref="JobTarget.Inputs"/>, or null with <paramref name="error"/> saying what is wrong.</summary>
    public static TensorData[]? Decode(ReadOnlySpan<byte> line, JobTarget target, out string? error)
    {
        var inputs = new TensorData?[target.Inputs.Count];
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"a line must be a JSON object mapping each input to its data, such as {Example(target)}";
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var index = IndexOf(target, ref reader);
                if (index < 0)
                {
                    error = $"unknown input '{reader.GetString()}'; the inputs of {target.Name} are {string.Join(", ", target.Inputs.Select(input => input.Name))}";
                    return null;
                }
                var input = target.Inputs[index];
                if (inputs[index] is not null)
                {
                    error = $"input '{input.Name}' is given twice";
                    return null;
                }
                reader.Read();
                var shape = RowShape(input, ref reader, out error);
                if (shape is null)
                {
                    return null;
                }
                inputs[index] = JsonTensorDataReader.Read(ref reader, input.Name, input.DataType, shape, line.Length - reader.BytesConsumed);
            }
            for (var i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is null)
                {
                    error = $"input '{target.Inputs[i].Name}' is missing; a line holds every input, such as {Example(target)}";
                    return null;
                }
            }
            error = null;
            return inputs!;
        }
        catch (JsonException ex)
        {
            error = $"the line is not valid JSON: {ex.Message.Split(" Path:", 2)[0]}";
            return null;
        }
        catch (InferenceException ex)
        {
            error = ex.Message;
            return null;
        }
        finally
        {
            // On success the caller owns them; dispose only when failing.
            if (inputs.Any(tensor => tensor is null))
            {
                foreach (var tensor in inputs)
                {
                    tensor?.Dispose();
                }
            }
        }
    }

    private static int IndexOf(JobTarget target, ref Utf8JsonReader reader)
    {
        for (var i = 0; i < target.Inputs.Count; i++)
        {
            if (reader.ValueTextEquals(target.Inputs[i].Name))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The input's dims, with a lone -1 filled in from how many elements the data holds.</summary>
    private static long[]? RowShape(JobInput input, ref Utf8JsonReader reader, out string? error)
    {
        error = null;
        var variable = Array.IndexOf(input.Dims, -1L);
        if (variable < 0)
        {
            return input.Dims;
        }
        if (Array.LastIndexOf(input.Dims, -1L) != variable)
        {
            error = $"input '{input.Name}' has more than one variable dim {JsonTensorDataReader.FormatShape(input.Dims)}: a batch job cannot tell its shape from a line";
            return null;
        }
        long fixedProduct = 1;
        foreach (var dim in input.Dims)
        {
            fixedProduct *= dim < 0 ? 1 : dim;
        }
        var count = JsonTensorDataReader.CountElements(reader);
        if (count < 0 || fixedProduct == 0 || count % fixedProduct != 0)
        {
            error = $"input '{input.Name}': {count} elements do not fill dims {JsonTensorDataReader.FormatShape(input.Dims)}";
            return null;
        }
        var shape = (long[])input.Dims.Clone();
        shape[variable] = count / fixedProduct;
        return shape;
    }

    private static string Example(JobTarget target) =>
        "{" + string.Join(", ", target.Inputs.Select(input => $"\"{input.Name}\": [...]")) + "}";
}
