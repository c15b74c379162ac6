#if HYPERION_GPU
using System.Runtime.InteropServices;

namespace Hyperion.Inference.Backends.Onnx;

/// <summary>
/// Why ONNX Runtime's CUDA provider library does not load. ONNX Runtime itself reports only "Failed to load shared
/// library"; the dynamic loader's own error names the CUDA library that is missing (e.g. "libcublasLt.so.13: cannot
/// open shared object file").
/// </summary>
internal static class CudaProviderLibrary
{
    private const string FileName = "libonnxruntime_providers_cuda.so";

    /// <summary>The loader's reason, or null when it cannot be told (not Linux, or the library loads after all).</summary>
    public static string? LoadError()
    {
        if (FindBesideOnnxRuntime() is not { } path)
        {
            return null;
        }
        if (!File.Exists(path))
        {
            return $"{path} does not exist";
        }
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException ex)
        {
            // .NET's message wraps the loader's error, which is its last line.
            var lines = ex.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return $"{FileName}: {lines[^1]}";
        }
    }

    /// <summary>ONNX Runtime loads its providers from the folder libonnxruntime.so was loaded from.</summary>
    private static string? FindBesideOnnxRuntime()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return null;
        }
        foreach (var line in File.ReadLines(maps))
        {
            var start = line.IndexOf('/');
            if (start >= 0 && line.EndsWith("/libonnxruntime.so", StringComparison.Ordinal))
            {
                return Path.Combine(Path.GetDirectoryName(line[start..])!, FileName);
            }
        }
        return null;
    }
}
#endif
