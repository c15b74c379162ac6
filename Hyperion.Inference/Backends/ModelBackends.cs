using Hyperion.Contracts.Models;
using Hyperion.Inference.Backends.Onnx;
using Hyperion.Inference.Backends.TorchScript;
using Hyperion.Inference.Repository;

namespace Hyperion.Inference.Backends;

/// <summary>Which backend opens a version, and from which file in its folder.</summary>
internal static class ModelBackends
{
    /// <summary>
    /// The platform a version loads with: the config's when it names one, otherwise the one whose file the folder
    /// holds (model.onnx first, as before TorchScript was served).
    /// </summary>
    public static string PlatformOf(ModelConfig config, string versionDirectory)
    {
        if (config.Platform is { } stated)
        {
            return ModelPlatforms.Canonical(stated)
                ?? throw new ModelLoadException($"platform '{stated}' is not supported; expected {ModelPlatforms.SupportedNames}");
        }
        return !File.Exists(Path.Combine(versionDirectory, ModelPlatforms.OnnxFileName))
               && File.Exists(Path.Combine(versionDirectory, ModelPlatforms.TorchScriptFileName))
            ? ModelPlatforms.PyTorch
            : ModelPlatforms.OnnxRuntime;
    }

    public static IBackendModel Open(string platform, string modelPath, ModelConfig config, RepositoryOptions options) =>
        ModelPlatforms.IsTorchScript(platform)
            ? TorchScriptModel.Open(modelPath, config)
            : OnnxModel.Open(modelPath, config, options.OnnxThreadSpinning);
}
