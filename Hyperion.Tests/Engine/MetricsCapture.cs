using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Hyperion.Inference.Metrics;

namespace Hyperion.Tests.Engine;

/// <summary>Records what the engine's own meter reports.</summary>
internal sealed class MetricsCapture : IDisposable
{
    private readonly MeterListener _listener = new();

    public MetricsCapture(InferenceMetrics metrics)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, string?> Tags)> Measurements { get; } = new();

    public IReadOnlyList<double> Values(string instrument, string? model = null)
    {
        var values = new List<double>();
        foreach (var (name, value, tags) in Measurements)
        {
            if (name == instrument && (model is null || (tags.TryGetValue("model", out var m) && m == model)))
            {
                values.Add(value);
            }
        }
        return values;
    }

    public long Count(string model, string outcome)
    {
        long count = 0;
        foreach (var (name, value, tags) in Measurements)
        {
            if (name == "hyperion_inference_requests_total" && tags["model"] == model && tags["outcome"] == outcome)
            {
                count += (long)value;
            }
        }
        return count;
    }

    /// <summary>Collects the observable gauges now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }
        Measurements.Enqueue((instrument.Name, value, copy));
    }
}
