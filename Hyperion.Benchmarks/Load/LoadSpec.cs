namespace Hyperion.Benchmarks.Load;

/// <summary>
/// A request body as sent: the bytes, their content type, and any headers it needs (Triton's
/// binary extension needs Inference-Header-Content-Length; a gateway would need Authorization).
/// <paramref name="Encoding"/> names it in the table: "json" or "binary".
/// </summary>
public sealed record RequestBody(string Encoding, byte[] Bytes, string ContentType, IReadOnlyDictionary<string, string> Headers);

/// <summary>One closed-loop load step: <paramref name="Concurrency"/> connections each POST <paramref name="Body"/> back to back.</summary>
public sealed record LoadSpec(Uri Url, RequestBody Body, int Concurrency, TimeSpan Duration);

/// <summary>
/// What a step measured. Latencies cover every completed response; <see cref="Succeeded"/>
/// counts 2xx only, <see cref="Failed"/> the non-2xx responses and <see cref="TransportErrors"/>
/// connections that broke or timed out.
/// </summary>
public sealed record LoadResult(
    long Succeeded,
    long Failed,
    long TransportErrors,
    TimeSpan Elapsed,
    double P50Milliseconds,
    double P90Milliseconds,
    double P99Milliseconds,
    double MaxMilliseconds)
{
    public double RequestsPerSecond => Elapsed > TimeSpan.Zero ? Succeeded / Elapsed.TotalSeconds : 0;

    public long Errors => Failed + TransportErrors;
}

public interface ILoadGenerator
{
    string Name { get; }

    Task<LoadResult> RunAsync(LoadSpec spec, CancellationToken cancellationToken);
}
