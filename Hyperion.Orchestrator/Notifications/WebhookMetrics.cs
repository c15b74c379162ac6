using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>Delivery instruments (meter <c>Hyperion.Orchestrator.Webhooks</c>), labelled by configured webhook name only.</summary>
internal sealed class WebhookMetrics
{
    public const string MeterName = "Hyperion.Orchestrator.Webhooks";

    /// <summary>An attempt that got a 2xx.</summary>
    public const string Delivered = "delivered";

    /// <summary>An attempt that failed; another is scheduled.</summary>
    public const string Failed = "failed";

    /// <summary>An attempt that failed and was the last allowed: the delivery is given up.</summary>
    public const string Dead = "dead";

    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _lag;

    public WebhookMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _deliveries = meter.CreateCounter<long>(
            "hyperion_orchestrator_webhook_deliveries_total", "{attempt}", "Webhook delivery attempts by webhook and outcome (delivered, failed, dead).");
        _duration = meter.CreateHistogram<double>(
            "hyperion_orchestrator_webhook_delivery_duration_seconds", "s", "Time one delivery attempt took, until the receiver answered or the attempt failed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _lag = meter.CreateHistogram<double>(
            "hyperion_orchestrator_webhook_delivery_lag_seconds", "s", "Time from an event's commit to its delivery, retries included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400] });
    }

    public void RecordAttempt(string webhook, string outcome, TimeSpan duration)
    {
        _deliveries.Add(1, new TagList { { "webhook", webhook }, { "outcome", outcome } });
        _duration.Record(duration.TotalSeconds, new TagList { { "webhook", webhook } });
    }

    public void RecordDelivered(string webhook, TimeSpan lag) => _lag.Record(lag.TotalSeconds, new TagList { { "webhook", webhook } });
}
