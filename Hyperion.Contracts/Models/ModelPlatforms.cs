namespace Hyperion.Contracts.Models;

/// <summary>
/// The backends a config's <c>platform</c> names, as Triton names them, and the file each one loads from a
/// version folder. A config without a platform is decided by the file the version folder holds.
/// </summary>
public static class ModelPlatforms
{
    public const string OnnxRuntime = "onnxruntime";

    /// <summary>Triton's other name for the ONNX Runtime backend; read as <see cref="OnnxRuntime"/>.</summary>
    public const string OnnxRuntimeOnnx = "onnxruntime_onnx";

    /// <summary>TorchScript (a <c>torch.jit</c> scripted or traced module) through LibTorch.</summary>
    public const string PyTorch = "pytorch_libtorch";

    public const string OnnxFileName = "model.onnx";

    public const string TorchScriptFileName = "model.pt";

    /// <summary>For messages that say what was expected.</summary>
    public const string SupportedNames = "\"onnxruntime\" (model.onnx) or \"pytorch_libtorch\" (model.pt)";

    /// <summary>The canonical name of a supported platform; null for one Hyperion does not serve.</summary>
    public static string? Canonical(string? platform) => platform switch
    {
        OnnxRuntime or OnnxRuntimeOnnx => OnnxRuntime,
        PyTorch => PyTorch,
        _ => null,
    };

    public static bool IsTorchScript(string? platform) => platform == PyTorch;

    /// <summary>The file a version folder holds for <paramref name="platform"/> (a canonical name).</summary>
    public static string FileName(string platform) => IsTorchScript(platform) ? TorchScriptFileName : OnnxFileName;
}
