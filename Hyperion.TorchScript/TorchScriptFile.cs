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
            throw new TorchScriptException($"LibTorch could not load {Path.GetFileName(path)} as TorchScript: {Reason(ex.Message)}", ex);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            throw new TorchScriptException($"LibTorch (TorchSharp's native library) could not be loaded on this machine: {Reason(ex.Message)}", ex);
        }
        module.eval();
        return module;
    }

    private const string InterpreterFailure = "The following operation failed in the TorchScript interpreter";

    /// <summary>
    /// The line of a LibTorch message that says what went wrong: the TorchScript interpreter puts the model's own
    /// exception ("builtins.ValueError: ...") last, after two tracebacks; LibTorch's C++ errors put it first,
    /// before a C++ stack.
    /// </summary>
    public static string Reason(string message)
    {
        var lines = message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0)
        {
            return message;
        }
        return lines[0].StartsWith(InterpreterFailure, StringComparison.Ordinal) ? lines[^1] : lines[0];
    }
}
