namespace Hyperion.Benchmarks.Load;

/// <summary>One closed-loop load step: <paramref name="Concurrency"/> connections each POST <paramref name="Body"/> back to back.</summary>
public sealed record LoadSpec(Uri Url, byte[] Body, int Concurrency, TimeSpan Duration);

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
