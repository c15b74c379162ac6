using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Inference;

/// <summary>A decoded inference request, independent of the wire protocol it came in on (REST JSON, binary, gRPC, V1).</summary>
public sealed class InferenceRequest : IDisposable
{
    public required string ModelName { get; init; }

    /// <summary>Null means the version the model's policy serves by default (the highest ready one).</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The client's request id, echoed in the response.</summary>
    public string? Id { get; init; }

    public List<TensorData> Inputs { get; } = [];

    /// <summary>Null or empty means every output of the model.</summary>
    public List<RequestedOutput>? Outputs { get; init; }

    /// <summary>
    /// Triton's <c>binary_data_output</c> request parameter: outputs that the client did not list with a
    /// <c>binary_data</c> of their own come back in binary form. Only the REST front end reads it.
    /// </summary>
    public bool BinaryDataOutput { get; init; }

    /// <summary>Per-request timeout (OIP/Triton <c>timeout</c> parameter); null uses the model's default.</summary>
    public TimeSpan? Timeout { get; init; }

    public void Dispose()
    {
        foreach (var input in Inputs)
        {
            input.Dispose();
        }
        Inputs.Clear();
    }
}

/// <summary>An output the client asked for; <see cref="Binary"/> is Triton's <c>binary_data</c> parameter.</summary>
public sealed record RequestedOutput(string Name, bool Binary = false);
