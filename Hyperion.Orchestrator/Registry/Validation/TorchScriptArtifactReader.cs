using Hyperion.Contracts.Models;
using Hyperion.TorchScript;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// Loads an uploaded TorchScript module with LibTorch, as the inference replicas will, and checks it against the
/// config, which must describe it (the file carries no signature): one forward() on zero-filled inputs shaped as
/// the config says must return the config's outputs. The signature kept is the config's, batch dimension included.
/// </summary>
internal static class TorchScriptArtifactReader
{
    public const string Format = "torchscript";

    public static ArtifactSignature Read(string path, ModelConfig config)
    {
        TorchScriptSignature signature;
        try
        {
            signature = TorchScriptSignature.From(config);
        }
        catch (TorchScriptException ex)
        {
            throw new ConfigMismatchException($"config: {ex.Message}");
        }
        TorchSharp.torch.jit.ScriptModule module;
        try
        {
            module = TorchScriptFile.Load(path);
        }
        catch (TorchScriptException ex)
        {
            // LibTorch names the file it was given: a staging path that means nothing to the caller.
            throw new InvalidArtifactException(ex.Message.Replace(Path.GetFileName(path), "the artifact", StringComparison.Ordinal));
        }
        using (module)
        {
            try
            {
                TorchScriptProbe.Check(module, signature);
            }
            catch (TorchScriptException ex)
            {
                throw new ConfigMismatchException($"config: {ex.Message}");
            }
        }
        return new ArtifactSignature(
            Format: Format,
            Inputs: Tensors(config.Input, signature.Batched),
            Outputs: Tensors(config.Output, signature.Batched),
            ProducerName: null,
            GraphName: null,
            Domain: null,
            ModelVersion: null);
    }

    private static TensorSignature[] Tensors(IReadOnlyList<ModelTensorConfig> tensors, bool batched) =>
        [.. tensors.Select(tensor => new TensorSignature(tensor.Name, tensor.DataType, batched ? [-1, .. tensor.Dims] : [.. tensor.Dims]))];
}
