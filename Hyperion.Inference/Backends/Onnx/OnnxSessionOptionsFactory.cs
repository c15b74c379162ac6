using Hyperion.Contracts.Models;
using Hyperion.Inference.Repository;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Hyperion.Inference.Backends.Onnx;

/// <summary>Turns a config's <c>optimization</c> and an instance's device into ONNX Runtime session options.</summary>
internal static class OnnxSessionOptionsFactory
{
    /// <param name="cudaDevice">The GPU for ONNX Runtime's CUDA execution provider; null for CPU.</param>
    /// <exception cref="CudaUnavailableException">The CUDA execution provider cannot be added.</exception>
    public static SessionOptions Create(OptimizationConfig? optimization, int? cudaDevice, bool allowSpinning)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = ParseLevel(optimization?.GraphOptimizationLevel),
        };
        try
        {
            if (!allowSpinning)
            {
                // Idle ORT threads otherwise spin after every run, taking cores the HTTP front ends need to
                // answer the batch and bring in the next one; that costs more than it saves in a server.
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }
            if (optimization is { IntraOpThreads: > 0 })
            {
                options.IntraOpNumThreads = optimization.IntraOpThreads;
            }
            if (optimization is { InterOpThreads: > 0 })
            {
                options.InterOpNumThreads = optimization.InterOpThreads;
                // Inter-op threads only help when independent branches of the graph may run in parallel.
                options.ExecutionMode = optimization.InterOpThreads > 1 ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL;
            }
            if (cudaDevice is { } gpu)
            {
                AppendCuda(options, gpu);
            }
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    public static GraphOptimizationLevel ParseLevel(string? level) => level?.ToLowerInvariant() switch
    {
        null or "" or "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disabled" => GraphOptimizationLevel.ORT_DISABLE_ALL,
        _ => throw new ModelLoadException(
            $"optimization.graph_optimization_level '{level}' is not one of disabled, basic, extended, all"),
    };

#if HYPERION_GPU
    private static void AppendCuda(SessionOptions options, int gpuId)
    {
        try
        {
            options.AppendExecutionProvider_CUDA(gpuId);
        }
        catch (OnnxRuntimeException ex)
        {
            var loader = CudaProviderLibrary.LoadError() is { } error ? $" ({error})" : "";
            throw new CudaUnavailableException(
                $"ONNX Runtime's CUDA execution provider, which did not load: {ex.Message}{loader}; ONNX Runtime 1.32's CUDA " +
                "build needs the CUDA 13 and cuDNN 9 libraries on the library path and an NVIDIA driver for CUDA 13 (580 or later)", ex);
        }
    }
#else
    private static void AppendCuda(SessionOptions options, int gpuId) =>
        throw new CudaUnavailableException(
            "the GPU build of the server (dotnet build -p:HyperionGpu=true, with the CUDA runtime installed); " +
            "this server was built for CPU only");
#endif
}
