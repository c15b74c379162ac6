using System.Diagnostics;
using Hyperion.Benchmarks.Load;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Benchmarks.InProcess;

/// <summary>What one caller running ONNX Runtime directly reaches: the bar served rows/s are compared with.</summary>
public sealed record OrtBaselineResult(int Batch, long Calls, TimeSpan Elapsed, double P50Milliseconds, double P99Milliseconds)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;

    public double RowsPerSecond => CallsPerSecond * Batch;
}

/// <summary>
/// One model at one batch size, run back to back on prepared input with ONNX Runtime's own
/// session defaults (all cores for intra-op work, spinning pool threads): the fastest one
/// caller gets on a quiet machine, so a bar the server cannot clear by configuration alone.
/// The server turns spinning off by default (Inference:OnnxThreadSpinning). Kept open between rounds.
/// </summary>
public sealed class OrtBaseline : IDisposable
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

    public OrtBaselineResult Measure(TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        RunFor(warmup, null, cancellationToken);
        var latencies = new LatencyHistogram();
        var started = Stopwatch.GetTimestamp();
        var calls = RunFor(duration, latencies, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new OrtBaselineResult(Batch, calls, elapsed, latencies.PercentileMilliseconds(50), latencies.PercentileMilliseconds(99));
    }

    public void Dispose()
    {
        _input.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private long RunFor(TimeSpan span, LatencyHistogram? latencies, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency);
        long count = 0;
        while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            using (_session.Run(_runOptions, _inputNames, _inputs, _session.OutputNames))
            {
            }

            latencies?.RecordSince(start);
            count++;
        }

        return count;
    }
}
