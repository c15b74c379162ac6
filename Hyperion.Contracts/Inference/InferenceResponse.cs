using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Inference;

public sealed class InferenceResponse : IDisposable
{
    public required string ModelName { get; init; }

    public required string ModelVersion { get; init; }

    public string? Id { get; init; }

    /// <summary>The rows (instances) the request carried, as the batcher counted them; what usage metering bills.</summary>
    public int Rows { get; init; } = 1;

    public List<TensorData> Outputs { get; } = [];

    public void Dispose()
    {
        foreach (var output in Outputs)
        {
            output.Dispose();
        }
        Outputs.Clear();
    }
}
