using System.Text.Json.Serialization;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// One drift computation, as <c>GET /api/v1/models/{m}/drift</c> answers it and <c>drift_results.result</c> keeps it:
/// the data-drift verdict with every feature (worst first) and the prediction drift.
/// </summary>
/// <param name="Score">The share of features that drifted; null without a verdict (written as null, not left out).</param>
/// <param name="Reason">Why there is no verdict (too few rows); absent when there is one.</param>
/// <param name="Prediction">Null when the version's outputs cannot be read (no output named).</param>
internal sealed record DriftResult(
    string Model,
    long Version,
    DateTimeOffset ComputedAt,
    string Trigger,
    DriftWindow Window,
    long Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Score,
    bool Drifted,
    string? Reason,
    double? MeanPsi,
    int DriftedFeatures,
    DriftThresholds Thresholds,
    IReadOnlyList<FeatureDrift> Features,
    PredictionDrift? Prediction);

internal sealed record DriftWindow(DateTimeOffset Start, DateTimeOffset End, int Minutes);

/// <summary>One point of <c>GET /api/v1/models/{m}/drift/history</c>.</summary>
internal sealed record DriftPoint(
    DateTimeOffset ComputedAt,
    string Trigger,
    long Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Score,
    bool Drifted,
    double? PredictionPsi);

/// <summary>One version's result in a round of <c>POST /api/v1/drift/run</c>.</summary>
/// <param name="Reason">Why there is no verdict (too few rows, no baseline profile, an error); absent when there is one.</param>
internal sealed record DriftRoundEntry(
    string Model,
    long Version,
    long Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Score,
    bool Drifted,
    string? Reason);

/// <summary>The answer of <c>POST /api/v1/drift/run</c>: every monitored version's drift, computed now.</summary>
internal sealed record DriftRound(DateTimeOffset ComputedAt, IReadOnlyList<DriftRoundEntry> Versions);

internal sealed record DriftHistory(string Model, long Version, IReadOnlyList<DriftPoint> Points);

internal static class DriftTriggers
{
    public const string Schedule = "schedule";
    public const string Manual = "manual";
}
