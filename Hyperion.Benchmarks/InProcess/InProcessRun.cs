using System.Diagnostics;
using Hyperion.Benchmarks.Load;

namespace Hyperion.Benchmarks.InProcess;

/// <summary>What one caller running a model directly reaches: the bar served rows/s are compared with.</summary>
public sealed record InProcessResult(int Batch, long Calls, TimeSpan Elapsed, double P50Milliseconds, double P99Milliseconds)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;

    public double RowsPerSecond => CallsPerSecond * Batch;
}

/// <summary>A model called back to back on prepared input by one caller (ONNX Runtime or LibTorch).</summary>
public interface IInProcessBaseline : IDisposable
{
    int Batch { get; }

    /// <summary>One call on the prepared batch.</summary>
    void RunOnce();
}

public static class InProcessRun
{
    public static InProcessResult Measure(IInProcessBaseline baseline, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        RunFor(baseline, warmup, null, cancellationToken);
        var latencies = new LatencyHistogram();
        var started = Stopwatch.GetTimestamp();
        var calls = RunFor(baseline, duration, latencies, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new InProcessResult(baseline.Batch, calls, elapsed, latencies.PercentileMilliseconds(50), latencies.PercentileMilliseconds(99));
    }

    private static long RunFor(IInProcessBaseline baseline, TimeSpan span, LatencyHistogram? latencies, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency);
        long count = 0;
        while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            baseline.RunOnce();
            latencies?.RecordSince(start);
            count++;
        }

        return count;
    }
}
