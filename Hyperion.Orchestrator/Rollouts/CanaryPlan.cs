using System.Text.Json.Serialization;
using Hyperion.Orchestrator.Deployments;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// A canary plan with its defaults applied: what the rollout controller follows. The defaults suit a first rollout
/// of a model that takes some traffic: three steps (10 %, 50 %, 100 %), at least a minute and 100 canary requests
/// per step, at most two points more errors than stable, and a p95 at most twice stable's.
/// </summary>
/// <param name="Version">The canary version.</param>
/// <param name="Steps">Canary percents, increasing; the last step's success promotes the canary.</param>
/// <param name="StepSeconds">Least time at each step.</param>
/// <param name="MinRequests">Least canary requests at each step before the gates are judged.</param>
/// <param name="MaxErrorRateDelta">The canary's error rate may exceed stable's by this much (a fraction: 0.02 = 2 points).</param>
/// <param name="MaxP95LatencyRatio">The canary's p95 latency may be this many times stable's.</param>
/// <param name="MaxAccuracyDrop">The canary's accuracy on labelled requests may be this much below stable's (a fraction); null: no accuracy gate.</param>
/// <param name="MinAgreement">The least share of shadowed rows where the canary predicts stable's class; null: no agreement gate.</param>
/// <param name="MinQualitySamples">Labelled rows per arm, or compared rows, before a quality gate is judged; set with a quality gate.</param>
internal sealed record CanaryPlan(
    long Version,
    IReadOnlyList<double> Steps,
    int StepSeconds,
    long MinRequests,
    double MaxErrorRateDelta,
    double MaxP95LatencyRatio,
    double? MaxAccuracyDrop = null,
    double? MinAgreement = null,
    long? MinQualitySamples = null)
{
    public static readonly IReadOnlyList<double> DefaultSteps = [10, 50, 100];
    public const int DefaultStepSeconds = 60;
    public const long DefaultMinRequests = 100;
    public const double DefaultMaxErrorRateDelta = 0.02;
    public const double DefaultMaxP95LatencyRatio = 2.0;
    public const long DefaultMinQualitySamples = 50;

    /// <summary>Whether a gate reads captured predictions (and labels), beside the gateways' counters.</summary>
    [JsonIgnore]
    public bool HasQualityGates => MaxAccuracyDrop is not null || MinAgreement is not null;

    /// <summary>Rows a quality gate needs before it is judged.</summary>
    [JsonIgnore]
    public long QualitySamples => MinQualitySamples ?? DefaultMinQualitySamples;

    /// <summary>Whether <paramref name="canary"/> is a plan (the controller moves it) rather than a fixed split.</summary>
    public static bool IsPlan(CanarySpec? canary) => canary is { Steps: not null };

    /// <summary>The plan of <paramref name="canary"/>, defaults filled in; null for a fixed split or no canary.</summary>
    public static CanaryPlan? Of(CanarySpec? canary) =>
        IsPlan(canary)
            ? new CanaryPlan(
                Version: canary!.Version,
                Steps: canary.Steps is { Count: > 0 } steps ? steps : DefaultSteps,
                StepSeconds: canary.StepSeconds ?? DefaultStepSeconds,
                MinRequests: canary.MinRequests ?? DefaultMinRequests,
                MaxErrorRateDelta: canary.MaxErrorRateDelta ?? DefaultMaxErrorRateDelta,
                MaxP95LatencyRatio: canary.MaxP95LatencyRatio ?? DefaultMaxP95LatencyRatio,
                MaxAccuracyDrop: canary.MaxAccuracyDrop,
                MinAgreement: canary.MinAgreement,
                MinQualitySamples: canary.MaxAccuracyDrop is null && canary.MinAgreement is null ? null : canary.MinQualitySamples ?? DefaultMinQualitySamples)
            : null;

    public bool IsLastStep(int step) => step >= Steps.Count - 1;
}
