using System.Diagnostics;
using System.Net.Http.Headers;

namespace Hyperion.Benchmarks.Load;

/// <summary>
/// In-process closed loop: one task per connection sends the next request as soon as the last
/// answer is read. Every latency is recorded (per-task histograms, merged at the end).
/// </summary>
public sealed class ClosedLoopLoadGenerator : ILoadGenerator
{
    public string Name => "in-process closed loop";

    public async Task<LoadResult> RunAsync(LoadSpec spec, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = spec.Concurrency,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var invoker = new HttpMessageInvoker(handler);

        // Requests still in flight at the deadline get a grace period, then are abandoned.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abandon.CancelAfter(spec.Duration + TimeSpan.FromSeconds(10));

        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(spec.Duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<WorkerResult>[spec.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(invoker, spec, deadline, abandon.Token), CancellationToken.None);
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

    private static async Task<WorkerResult> WorkerAsync(HttpMessageInvoker invoker, LoadSpec spec, long deadline, CancellationToken cancellationToken)
    {
        var result = new WorkerResult();
        var sink = new byte[16 * 1024];
        var contentType = MediaTypeHeaderValue.Parse(spec.Body.ContentType);
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            var content = new ByteArrayContent(spec.Body.Bytes);
            content.Headers.ContentType = contentType;
            using var request = new HttpRequestMessage(HttpMethod.Post, spec.Url) { Content = content };
            foreach (var (name, value) in spec.Body.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            var start = Stopwatch.GetTimestamp();
            try
            {
                using var response = await invoker.SendAsync(request, cancellationToken);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                while (await body.ReadAsync(sink, cancellationToken) > 0)
                {
                }

                if (response.IsSuccessStatusCode)
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
