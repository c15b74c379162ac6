namespace Hyperion.TorchScript;

/// <summary>A TorchScript file that cannot be served, or that does not do what its config says; the message says which.</summary>
public sealed class TorchScriptException(string message, Exception? inner = null) : Exception(message, inner);
