using System.Runtime.InteropServices;
using TorchSharp;

namespace Hyperion.TorchScript;

/// <summary>Opens <c>model.pt</c> files: a <c>torch.jit.save</c>d module, in evaluation mode, on the CPU.</summary>
public static class TorchScriptFile
{
    /// <summary>TorchScript files are zip archives; ONNX files are protobuf messages and never start like one.</summary>
    public static bool LooksLikeTorchScript(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;

    public static torch.jit.ScriptModule Load(string path)
    {
        torch.jit.ScriptModule module;
        try
        {
            module = torch.jit.load(path);
        }
        catch (Exception ex) when (ex is ExternalException or ArgumentException or IOException)
        {
            throw new TorchScriptException($"LibTorch could not load {Path.GetFileName(path)} as TorchScript: {FirstLine(ex.Message)}", ex);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            throw new TorchScriptException($"LibTorch (TorchSharp's native library) could not be loaded on this machine: {FirstLine(ex.Message)}", ex);
        }
        module.eval();
        return module;
    }

    /// <summary>LibTorch's messages carry a C++ stack after their first line.</summary>
    public static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return (end < 0 ? message : message[..end]).Trim();
    }
}
