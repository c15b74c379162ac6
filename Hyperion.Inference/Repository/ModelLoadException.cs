namespace Hyperion.Inference.Repository;

/// <summary>A model version could not be loaded; the message is the reason the repository index reports.</summary>
internal sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
