using Hyperion.Contracts.Tensors;

namespace Hyperion.Inference.Backends;

/// <summary>
/// An input or output as the model file declares it: what auto-complete fills a config from and checks it against.
/// <see cref="DataType"/> is null when the model's type has no OIP datatype (<see cref="TypeName"/> says which it is).
/// Dims include the batch dimension; -1 is dynamic.
/// </summary>
internal sealed record BackendTensorInfo(string Name, TensorDataType? DataType, string TypeName, long[] Dims);

internal sealed record BackendSignature(IReadOnlyList<BackendTensorInfo> Inputs, IReadOnlyList<BackendTensorInfo> Outputs);
