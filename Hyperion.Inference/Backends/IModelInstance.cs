using Hyperion.Contracts.Tensors;

namespace Hyperion.Inference.Backends;

/// <summary>
/// One execution instance of a model version (Triton's model instance): a backend session that runs one batch
/// at a time. Only one thread uses an instance at once, so it may reuse its scratch state between runs.
/// </summary>
internal interface IModelInstance : IDisposable
{
    /// <summary>
    /// Runs one batch. <paramref name="inputs"/> are in the order of the config's inputs; the returned outputs
    /// follow the config's outputs and stay valid until they are disposed (before the next run).
    /// </summary>
    IModelOutputs Run(ReadOnlySpan<TensorData> inputs);
}

internal interface IModelOutputs : IDisposable
{
    ReadOnlySpan<long> Shape(int output);

    /// <summary>Raw little-endian bytes; BYTES outputs in Triton's length-prefixed layout.</summary>
    ReadOnlySpan<byte> Data(int output);
}
