using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Captures;

/// <summary>Capture instruments (meter <c>Hyperion.Orchestrator.Captures</c>), labelled by outcome only (a bounded set).</summary>
internal sealed class CaptureMetrics
{
    public const string MeterName = "Hyperion.Orchestrator.Captures";

    public const string Stored = "stored";
    public const string Duplicate = "duplicate";
    public const string Malformed = "malformed";
    public const string Unmonitored = "unmonitored";
    public const string Expired = "expired";
    public const string Trimmed = "trimmed";

    private readonly Counter<long> _captures;

    public CaptureMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _captures = meter.CreateCounter<long>(
            "hyperion_orchestrator_captures_total", "{capture}",
            "Captured requests read from the gateways' stream by outcome: stored, duplicate (already stored), malformed (unreadable, acknowledged), "
            + "unmonitored (the deployment no longer monitors), trimmed (dropped from the stream by its length bound before it was stored), expired (deleted by retention).");
    }

    public void Add(string outcome, long count)
    {
        if (count > 0)
        {
            _captures.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }
}
