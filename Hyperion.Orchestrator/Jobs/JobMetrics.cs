using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>Batch jobs' instruments (meter <c>Hyperion.Orchestrator.Jobs</c>); labels are fixed sets, never job ids or model names.</summary>
internal sealed class JobMetrics
{
    public const string MeterName = "Hyperion.Orchestrator.Jobs";

    private readonly Counter<long> _lines;
    private readonly Histogram<double> _chunkDuration;

    public JobMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _lines = meter.CreateCounter<long>(
            "hyperion_orchestrator_job_lines_total", "{line}", "Job lines scored by this replica, by result: succeeded or failed.");
        _chunkDuration = meter.CreateHistogram<double>(
            "hyperion_orchestrator_job_chunk_duration_seconds", "s", "Time to score one chunk, from its lease to its results stored.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });
    }

    public void RecordChunk(int succeeded, int failed, TimeSpan duration)
    {
        _lines.Add(succeeded, new KeyValuePair<string, object?>("result", "succeeded"));
        _lines.Add(failed, new KeyValuePair<string, object?>("result", "failed"));
        _chunkDuration.Record(duration.TotalSeconds);
    }
}
