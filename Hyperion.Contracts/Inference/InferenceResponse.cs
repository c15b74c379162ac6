using Hyperion.Contracts.Tensors;

namespace Hyperion.Contracts.Inference;

public sealed class InferenceResponse : IDisposable
{
    public required string ModelName { get; init; }

    public required string ModelVersion { get; init; }

    public string? Id { get; init; }

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
