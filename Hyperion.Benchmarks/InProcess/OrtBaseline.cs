using System.Diagnostics;
using Hyperion.Benchmarks.Load;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Benchmarks.InProcess;

/// <summary>What one thread calling ONNX Runtime directly reaches: the bar served rows/s are compared with.</summary>
public sealed record OrtBaselineResult(int Batch, long Calls, TimeSpan Elapsed, double P50Milliseconds, double P99Milliseconds)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;

    public double RowsPerSecond => CallsPerSecond * Batch;
}

public static class OrtBaseline
{
    /// <summary>
    /// Runs the model back to back on pre-built input at <paramref name="batch"/> rows, with the
    /// session defaults the server starts from (all cores for intra-op work).
    /// </summary>
    public static OrtBaselineResult Measure(string modelPath, int batch, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var session = new InferenceSession(modelPath);
        var inputName = session.InputNames[0];
        var features = (int)session.InputMetadata[inputName].Dimensions[1];
        var rows = RequestBodies.Rows(batch, features, seed: 1);
        using var input = OrtValue.CreateTensorValueFromMemory(rows, [batch, features]);
        using var runOptions = new RunOptions();
        IReadOnlyCollection<string> inputNames = [inputName];
        IReadOnlyCollection<OrtValue> inputs = [input];
        var outputNames = session.OutputNames;

        RunFor(warmup, null);
        var latencies = new LatencyHistogram();
        var started = Stopwatch.GetTimestamp();
        var calls = RunFor(duration, latencies);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new OrtBaselineResult(batch, calls, elapsed, latencies.PercentileMilliseconds(50), latencies.PercentileMilliseconds(99));

        long RunFor(TimeSpan span, LatencyHistogram? record)
        {
            var end = Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency);
            long count = 0;
            while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                using (session.Run(runOptions, inputNames, inputs, outputNames))
                {
                }

                record?.RecordSince(start);
                count++;
            }

            return count;
        }
    }
}
