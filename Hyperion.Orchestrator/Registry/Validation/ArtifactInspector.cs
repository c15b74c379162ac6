using Hyperion.Contracts.Models;
using Hyperion.TorchScript;

namespace Hyperion.Orchestrator.Registry.Validation;

/// <summary>
/// Opens an upload with the backend that will serve it and reads its signature: ONNX Runtime for an ONNX model,
/// LibTorch for a TorchScript module (a zip archive, or whatever the config's platform says is one).
/// </summary>
internal sealed class ArtifactInspector : IDisposable
{
    // Opening a model holds its weights in memory: bound how many uploads are inspected at once.
    private readonly SemaphoreSlim _gate = new(Math.Max(1, Environment.ProcessorCount / 2));

    /// <exception cref="InvalidArtifactException">The file cannot be served.</exception>
    /// <exception cref="ConfigMismatchException">The config names another platform, or (TorchScript) does not describe the model.</exception>
    public async Task<ArtifactSignature> InspectAsync(string path, ModelConfig given, CancellationToken cancellationToken)
    {
        var torchScript = IsTorchScript(path, given.Platform);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() => torchScript ? TorchScriptArtifactReader.Read(path, given) : OnnxArtifactReader.Read(path), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private static bool IsTorchScript(string path, string? platform)
    {
        Span<byte> head = stackalloc byte[4];
        using (var file = File.OpenRead(path))
        {
            head = head[..file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }
        var looksLikeTorchScript = TorchScriptFile.LooksLikeTorchScript(head);
        return ModelPlatforms.Canonical(platform) switch
        {
            ModelPlatforms.PyTorch => true,
            ModelPlatforms.OnnxRuntime when looksLikeTorchScript => throw new ConfigMismatchException(
                $"config: platform '{platform}' says ONNX, but the artifact is a zip archive, as torch.jit.save writes; " +
                $"set platform \"{ModelPlatforms.PyTorch}\" for a TorchScript model, or upload the ONNX file"),
            _ => looksLikeTorchScript,
        };
    }
}
