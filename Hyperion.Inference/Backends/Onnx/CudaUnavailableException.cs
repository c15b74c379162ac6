namespace Hyperion.Inference.Backends.Onnx;

/// <summary>
/// ONNX Runtime's CUDA execution provider cannot be used here. The message completes "needs ...": what is missing,
/// so the load's failure or the group's CPU fallback note can say it.
/// </summary>
internal sealed class CudaUnavailableException(string missing, Exception? inner = null) : Exception(missing, inner);
