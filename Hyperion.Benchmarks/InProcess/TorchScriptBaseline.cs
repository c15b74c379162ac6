using Hyperion.Benchmarks.Load;
using Hyperion.TorchScript;
using TorchSharp;
using static TorchSharp.torch;

namespace Hyperion.Benchmarks.InProcess;

/// <summary>
/// One TorchScript model at one batch size, run through TorchSharp with LibTorch's defaults (one intra-op thread
/// per core) and no gradient tracking: the bar the TorchScript backend's served rows/s are compared with.
/// </summary>
public sealed class TorchScriptBaseline : IInProcessBaseline
{
    private readonly jit.ScriptModule _module;
    private readonly Tensor _input;
    private readonly object[] _arguments;

    public TorchScriptBaseline(string modelPath, int batch, int features)
    {
        _module = TorchScriptFile.Load(modelPath);
        _input = tensor(RequestBodies.Rows(batch, features, seed: 1), [batch, features]);
        _arguments = [_input];
        Batch = batch;
    }

    public int Batch { get; }

    public void RunOnce()
    {
        using (inference_mode())
        using (_module.forward(_arguments) as IDisposable)
        {
        }
    }

    public void Dispose()
    {
        _input.Dispose();
        _module.Dispose();
    }
}
