using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// The model-quality gauges (meter <c>Hyperion.Orchestrator.Quality</c>), which the published drift alert and the
/// Grafana dashboard read: <c>hyperion_orchestrator_model_drift_score{model,version}</c> (the latest verdict's share of
/// drifted features) and <c>hyperion_orchestrator_model_quality{model,version,metric}</c> (accuracy, macro_f1, mae,
/// rmse). Every orchestrator replica exports what it reads back from <c>drift_results</c> and <c>quality_results</c>
/// each interval, whichever replica computed them.
/// </summary>
internal sealed class QualitySignals
{
    public const string MeterName = "Hyperion.Orchestrator.Quality";

    private ConcurrentDictionary<(string Model, long Version), double> _drift = new();
    private ConcurrentDictionary<(string Model, long Version, string Metric), double> _quality = new();

    public QualitySignals(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("hyperion_orchestrator_model_drift_score", ObserveDrift, unit: null,
            "Share of a model version's features whose PSI against the baseline profile exceeds the deployment's threshold, at the latest drift computation.");
        meter.CreateObservableGauge("hyperion_orchestrator_model_quality", ObserveQuality, unit: null,
            "A model version's quality over labelled traffic, by metric (accuracy, macro_f1; mae, rmse for regression).");
    }

    public void Drift(string model, long version, double? score)
    {
        if (score is { } value)
        {
            _drift[(model, version)] = value;
        }
        else
        {
            _drift.TryRemove((model, version), out _);
        }
    }

    /// <summary>Replaces every drift score with the latest ones stored.</summary>
    public void ReplaceDrift(IEnumerable<(string Model, long Version, double Score)> scores) =>
        _drift = new ConcurrentDictionary<(string, long), double>(scores.Select(s => KeyValuePair.Create((s.Model, s.Version), s.Score)));

    /// <summary>Replaces every quality metric with the latest ones stored.</summary>
    public void ReplaceQuality(IEnumerable<(string Model, long Version, string Metric, double Value)> metrics) =>
        _quality = new ConcurrentDictionary<(string, long, string), double>(metrics.Select(m => KeyValuePair.Create((m.Model, m.Version, m.Metric), m.Value)));

    private IEnumerable<Measurement<double>> ObserveDrift() =>
        _drift.Select(entry => new Measurement<double>(entry.Value,
            new KeyValuePair<string, object?>("model", entry.Key.Model),
            new KeyValuePair<string, object?>("version", entry.Key.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))));

    private IEnumerable<Measurement<double>> ObserveQuality() =>
        _quality.Select(entry => new Measurement<double>(entry.Value,
            new KeyValuePair<string, object?>("model", entry.Key.Model),
            new KeyValuePair<string, object?>("version", entry.Key.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("metric", entry.Key.Metric)));
}
