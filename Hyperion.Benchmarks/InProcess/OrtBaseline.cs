using Hyperion.Benchmarks.Load;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Benchmarks.InProcess;

/// <summary>
/// One ONNX model at one batch size, run with ONNX Runtime's own session defaults (all cores for intra-op work,
/// spinning pool threads): the fastest one caller gets on a quiet machine, so a bar the server cannot clear by
/// configuration alone. The server turns spinning off by default (Inference:OnnxThreadSpinning). Kept open
/// between rounds.
/// </summary>
public sealed class OrtBaseline : IInProcessBaseline
{
    private readonly InferenceSession _session;
    private readonly OrtValue _input;
    private readonly RunOptions _runOptions = new();
    private readonly IReadOnlyCollection<string> _inputNames;
    private readonly IReadOnlyCollection<OrtValue> _inputs;

    /// <param name="options">Session options (the GPU check's CUDA execution provider); null for ONNX Runtime's defaults.</param>
    public OrtBaseline(string modelPath, int batch, SessionOptions? options = null)
    {
        _session = options is null ? new InferenceSession(modelPath) : new InferenceSession(modelPath, options);
        var inputName = _session.InputNames[0];
        var features = (int)_session.InputMetadata[inputName].Dimensions[1];
        _input = OrtValue.CreateTensorValueFromMemory(RequestBodies.Rows(batch, features, seed: 1), [batch, features]);
        _inputNames = [inputName];
        _inputs = [_input];
        Batch = batch;
    }

    public int Batch { get; }

    public void RunOnce()
    {
        using (_session.Run(_runOptions, _inputNames, _inputs, _session.OutputNames))
        {
        }
    }

    public void Dispose()
    {
        _input.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
