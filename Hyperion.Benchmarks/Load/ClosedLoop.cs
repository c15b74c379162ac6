using System.Diagnostics;

namespace Hyperion.Benchmarks.Load;

/// <summary>
/// One exchange of a closed loop: whatever a connection does for one measured request (one POST, or several calls
/// made back to back), true when it succeeded. Transport failures throw <see cref="HttpRequestException"/> or
/// <see cref="IOException"/>.
/// </summary>
public delegate Task<bool> Exchange(HttpMessageInvoker invoker, CancellationToken cancellationToken);

/// <summary>
/// In-process closed loop: one task per connection runs the next exchange as soon as the last one ends. Every
/// latency is recorded (per-task histograms, merged at the end).
/// </summary>
public static class ClosedLoop
{
    public static async Task<LoadResult> RunAsync(int concurrency, TimeSpan duration, Exchange exchange, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var invoker = new HttpMessageInvoker(handler);

        // Exchanges still in flight at the deadline get a grace period, then are abandoned.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abandon.CancelAfter(duration + TimeSpan.FromSeconds(10));

        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<WorkerResult>[concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(invoker, exchange, deadline, abandon.Token), CancellationToken.None);
        }

        var results = await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);

        var histogram = new LatencyHistogram();
        long succeeded = 0, failed = 0, transport = 0;
        foreach (var result in results)
        {
            histogram.Add(result.Latencies);
            succeeded += result.Succeeded;
            failed += result.Failed;
            transport += result.TransportErrors;
        }

        return new LoadResult(
            succeeded,
            failed,
            transport,
            elapsed,
            histogram.PercentileMilliseconds(50),
            histogram.PercentileMilliseconds(90),
            histogram.PercentileMilliseconds(99),
            histogram.MaxMilliseconds);
    }

    private static async Task<WorkerResult> WorkerAsync(HttpMessageInvoker invoker, Exchange exchange, long deadline, CancellationToken cancellationToken)
    {
        var result = new WorkerResult();
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                if (await exchange(invoker, cancellationToken))
                {
                    result.Succeeded++;
                }
                else
                {
                    result.Failed++;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                result.TransportErrors++;
                continue;
            }

            result.Latencies.RecordSince(start);
        }

        return result;
    }

    private sealed class WorkerResult
    {
        public LatencyHistogram Latencies { get; } = new();

        public long Succeeded { get; set; }

        public long Failed { get; set; }

        public long TransportErrors { get; set; }
    }
}
