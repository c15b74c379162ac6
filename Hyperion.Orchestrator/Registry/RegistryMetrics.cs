using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Registry;

/// <summary>The registry's instruments (meter <c>Hyperion.Orchestrator.Registry</c>); labels are fixed sets, never model names.</summary>
internal sealed class RegistryMetrics
{
    public const string MeterName = "Hyperion.Orchestrator.Registry";

    private readonly Counter<long> _uploads;
    private readonly Histogram<double> _uploadDuration;
    private readonly Counter<long> _uploadedBytes;
    private readonly Counter<long> _corruptedReads;

    public RegistryMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _uploads = meter.CreateCounter<long>(
            "hyperion_orchestrator_version_uploads_total", "{upload}",
            "Version uploads by outcome: registered, bad_request, unknown_model, too_large, unprocessable, failed.");
        _uploadDuration = meter.CreateHistogram<double>(
            "hyperion_orchestrator_version_upload_duration_seconds", "s", "Time from the start of an upload to its answer, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] });
        _uploadedBytes = meter.CreateCounter<long>(
            "hyperion_orchestrator_artifact_stored_bytes_total", "By", "Bytes of artifacts registered as versions.");
        _corruptedReads = meter.CreateCounter<long>(
            "hyperion_orchestrator_artifact_corrupted_reads_total", "{read}", "Artifact reads refused because the stored bytes no longer match their digest.");
    }

    public void RecordUpload(int? statusCode, TimeSpan duration, long registeredBytes)
    {
        var outcome = statusCode switch
        {
            StatusCodes.Status201Created => "registered",
            StatusCodes.Status404NotFound => "unknown_model",
            StatusCodes.Status413PayloadTooLarge => "too_large",
            StatusCodes.Status422UnprocessableEntity => "unprocessable",
            >= 400 and < 500 => "bad_request",
            _ => "failed",
        };
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _uploads.Add(1, tag);
        _uploadDuration.Record(duration.TotalSeconds, tag);
        if (registeredBytes > 0)
        {
            _uploadedBytes.Add(registeredBytes);
        }
    }

    public void RecordCorruptedRead() => _corruptedReads.Add(1);
}
