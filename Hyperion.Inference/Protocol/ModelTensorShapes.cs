using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Protocol;

/// <summary>
/// The shapes model metadata publishes: the config's dims with the batch dimension (-1) in front when the model
/// batches, as Triton reports them.
/// </summary>
internal static class ModelTensorShapes
{
    public static long[] Published(ModelConfig config, ModelTensorConfig tensor)
    {
        if (config.MaxBatchSize <= 0)
        {
            return [.. tensor.Dims];
        }
        var shape = new long[tensor.Dims.Count + 1];
        shape[0] = -1;
        for (var i = 0; i < tensor.Dims.Count; i++)
        {
            shape[i + 1] = tensor.Dims[i];
        }
        return shape;
    }
}
