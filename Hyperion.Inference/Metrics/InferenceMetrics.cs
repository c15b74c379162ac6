using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hyperion.Inference.Metrics;

/// <summary>
/// The engine's instruments (meter <c>Hyperion.Inference</c>), labelled by model and version.
/// Protocol front ends call <see cref="RecordRequest"/> for requests they reject before dispatch
/// (malformed bodies, oversize payloads) so every request is counted once.
/// </summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "Hyperion.Inference";

    /// <summary>The model label for requests naming a model the server does not know, which keeps the label set bounded.</summary>
    public const string UnknownModel = "_unknown";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _queueDuration;
    private readonly Histogram<double> _computeDuration;
    private readonly Histogram<long> _batchSize;
    private Func<IEnumerable<Measurement<long>>>? _queueDepths;
    private Func<IEnumerable<Measurement<int>>>? _readiness;
    private Func<IEnumerable<Measurement<int>>>? _instances;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _requests = Meter.CreateCounter<long>(
            "hyperion_inference_requests_total", "{request}", "Inference requests by model, version and outcome.");
        _requestDuration = Meter.CreateHistogram<double>(
            "hyperion_inference_request_duration_seconds", "s", "Time from dispatch to response, per request.");
        _queueDuration = Meter.CreateHistogram<double>(
            "hyperion_inference_queue_duration_seconds", "s", "Time a request waited in its model's queue before its batch ran.");
        _computeDuration = Meter.CreateHistogram<double>(
            "hyperion_inference_compute_duration_seconds", "s", "Time the backend took to run one batch.");
        _batchSize = Meter.CreateHistogram<long>(
            "hyperion_inference_batch_size", "{row}", "Rows per executed batch.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        Meter.CreateObservableGauge(
            "hyperion_inference_queue_depth", () => _queueDepths?.Invoke() ?? [], "{request}", "Requests waiting in a model version's queue.");
        Meter.CreateObservableGauge(
            "hyperion_inference_model_ready", () => _readiness?.Invoke() ?? [], null, "1 when a model version is loaded and ready, 0 otherwise.");
        Meter.CreateObservableGauge(
            "hyperion_inference_model_instances", () => _instances?.Invoke() ?? [], "{instance}",
            "Execution instances of a loaded model version by the kind its instance_group asked for and the device they run on (cpu, gpu:N).");
    }

    /// <summary>The meter behind every instrument (tests listen to it).</summary>
    public Meter Meter { get; }

    /// <summary>Counts one finished request; <paramref name="version"/> is empty when it never reached a version.</summary>
    public void RecordRequest(string model, string version, InferenceOutcome outcome, TimeSpan duration)
    {
        if (outcome == InferenceOutcome.NotFound)
        {
            model = UnknownModel;
        }
        var tags = new TagList { { "model", model }, { "version", version }, { "outcome", outcome.ToLabel() } };
        _requests.Add(1, tags);
        if (outcome == InferenceOutcome.Success)
        {
            _requestDuration.Record(duration.TotalSeconds, new TagList { { "model", model }, { "version", version } });
        }
    }

    internal void RecordQueueWait(string model, string version, TimeSpan wait) =>
        _queueDuration.Record(wait.TotalSeconds, new TagList { { "model", model }, { "version", version } });

    internal void RecordBatch(string model, string version, int rows, TimeSpan compute)
    {
        var tags = new TagList { { "model", model }, { "version", version } };
        _batchSize.Record(rows, tags);
        _computeDuration.Record(compute.TotalSeconds, tags);
    }

    /// <summary>The repository supplies the gauges' current values (queue depth, readiness and instances per version).</summary>
    internal void ObserveModels(
        Func<IEnumerable<Measurement<long>>> queueDepths, Func<IEnumerable<Measurement<int>>> readiness,
        Func<IEnumerable<Measurement<int>>> instances)
    {
        _queueDepths = queueDepths;
        _readiness = readiness;
        _instances = instances;
    }
}
