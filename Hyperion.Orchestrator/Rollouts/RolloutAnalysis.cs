using System.Globalization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// The controller's judgement of one step, from the numbers alone (no I/O, so it is the same on every orchestrator):
/// <list type="number">
/// <item>a quality gate fails, once it has <c>min_quality_samples</c> rows since the rollout started: roll back at
/// once (the canary's accuracy on labelled requests may be <c>max_accuracy_drop</c> below stable's; it must predict
/// stable's class on at least <c>min_agreement</c> of the rows copied to it as a shadow);</item>
/// <item>fewer canary requests than <c>min_requests</c> in the step: wait;</item>
/// <item>the error gate fails: roll back at once, without waiting for the step's time to pass (the canary's error
/// rate may exceed stable's by <c>max_error_rate_delta</c>);</item>
/// <item>the step is younger than <c>step_seconds</c>: wait;</item>
/// <item>the latency gate fails: roll back (the canary's p95 may be <c>max_p95_latency_ratio</c> times stable's, p95s
/// under the latency floor counting as the floor; judged over the whole step, as a p95 of few requests is noise);</item>
/// <item>a quality gate still short of its rows: wait (labels come late; a plan that asks for a quality gate never
/// moves on without it);</item>
/// <item>otherwise the next step, or at the last step promotion.</item>
/// </list>
/// Stable is compared over the same step; when it took too little traffic in the step (at 100 % it takes none),
/// over the whole rollout instead.
/// </summary>
internal static class RolloutAnalysis
{
    public static RolloutDecision Decide(StepMeasurement measured)
    {
        var plan = measured.Plan;
        var canary = measured.Canary;
        var (stable, basis) = measured.Stable.Requests >= Math.Max(1, plan.MinRequests) || measured.StableSinceStart is null
            ? (measured.Stable, StableBasis.Step)
            : (measured.StableSinceStart, StableBasis.Rollout);
        var evidence = Evidence(measured, stable, basis);

        // The quality gates have their own evidence (labelled or shadowed rows since the rollout started), so a
        // canary that is wrong is rolled back as soon as that suffices, whatever its own traffic in the step.
        var (qualityFailure, qualityPending) = JudgeQuality(measured);
        if (qualityFailure is not null)
        {
            return new RolloutDecision(RolloutAction.RollBack, qualityFailure, evidence);
        }

        if (canary.Requests < plan.MinRequests)
        {
            return new RolloutDecision(RolloutAction.Wait, Invariant(
                $"waiting for canary traffic: {canary.Requests} of {plan.MinRequests} requests at {Percent(measured.Percent)} after {measured.ElapsedSeconds:0.#} s"), evidence);
        }

        var errorDelta = canary.ErrorRate - stable.ErrorRate;
        if (errorDelta > plan.MaxErrorRateDelta)
        {
            return new RolloutDecision(RolloutAction.RollBack, Invariant(
                $"error rate {Rate(canary.ErrorRate)} on canary version {canary.Version} ({canary.Errors} of {canary.Requests} requests) vs {Rate(stable.ErrorRate)} on stable version {stable.Version} ({stable.Errors} of {stable.Requests}{Basis(basis)}): {Points(errorDelta)} above stable, more than max_error_rate_delta {plan.MaxErrorRateDelta:0.####} ({Points(plan.MaxErrorRateDelta)}), at {Percent(measured.Percent)} (step {measured.Step})"), evidence);
        }

        // Latency is judged on the whole step: a p95 over a few dozen requests is one slow request away from
        // doubling, while errors are evidence from the first requests on.
        var stepDone = measured.ElapsedSeconds >= plan.StepSeconds;
        if (stepDone && canary.P95Ms is { } canaryP95 && stable.P95Ms is { } stableP95)
        {
            var reference = Math.Max(stableP95, measured.LatencyFloorMs);
            if (canaryP95 > reference * plan.MaxP95LatencyRatio)
            {
                return new RolloutDecision(RolloutAction.RollBack, Invariant(
                    $"p95 latency {Ms(canaryP95)} on canary version {canary.Version} vs {Ms(stableP95)} on stable version {stable.Version}{Basis(basis)}: {Ratio(canaryP95, reference)} times {(reference > stableP95 ? $"the {Ms(reference)} floor" : "stable's")}, over max_p95_latency_ratio {plan.MaxP95LatencyRatio:0.##}, at {Percent(measured.Percent)} (step {measured.Step}, {canary.Requests} canary requests)"), evidence);
            }
        }

        var summary = Invariant(
            $"error rate {Rate(canary.ErrorRate)} vs {Rate(stable.ErrorRate)}, p95 {Ms(canary.P95Ms)} vs {Ms(stable.P95Ms)}{Basis(basis)}, over {canary.Requests} canary requests");
        if (!stepDone)
        {
            return new RolloutDecision(RolloutAction.Wait, Invariant(
                $"gates hold at {Percent(measured.Percent)} ({summary}); {measured.ElapsedSeconds:0.#} of {plan.StepSeconds} s{(qualityPending is null ? "" : "; " + qualityPending)}"), evidence);
        }
        if (qualityPending is not null)
        {
            return new RolloutDecision(RolloutAction.Wait, Invariant(
                $"error and latency gates held at {Percent(measured.Percent)} for {measured.ElapsedSeconds:0.#} s ({summary}), but {qualityPending}"), evidence);
        }
        if (plan.IsLastStep(measured.Step))
        {
            return new RolloutDecision(RolloutAction.Promote, Invariant(
                $"gates held at the last step, {Percent(measured.Percent)}, for {measured.ElapsedSeconds:0.#} s ({summary}): version {canary.Version} becomes stable"), evidence);
        }
        var next = plan.Steps[measured.Step + 1];
        return new RolloutDecision(RolloutAction.Step, Invariant(
            $"gates held at {Percent(measured.Percent)} for {measured.ElapsedSeconds:0.#} s ({summary}): step {measured.Step + 1}, {Percent(next)}"), evidence);
    }

    /// <summary>Why a quality gate fails (roll back), or else what a gate still waits for; both null when they hold or are off.</summary>
    private static (string? Failure, string? Pending) JudgeQuality(StepMeasurement measured)
    {
        var plan = measured.Plan;
        if (measured.Quality is not { } quality)
        {
            return (null, null);
        }
        var where = Invariant($"at {Percent(measured.Percent)} (step {measured.Step})");
        var pending = new List<string>();
        if (plan.MaxAccuracyDrop is { } maxDrop && quality is { Stable: { } stable, Canary: { } canary })
        {
            if (stable.Labelled < plan.QualitySamples || canary.Labelled < plan.QualitySamples)
            {
                pending.Add(Invariant($"waiting for labels: {canary.Labelled} labelled rows of canary version {canary.Version} and {stable.Labelled} of stable version {stable.Version}, min_quality_samples {plan.QualitySamples} each (POST /api/v1/feedback)"));
            }
            else if (stable.Accuracy - canary.Accuracy is { } drop && drop > maxDrop)
            {
                return (Invariant(
                    $"accuracy {Rate(canary.Accuracy!.Value)} on canary version {canary.Version} ({canary.Labelled} labelled rows) vs {Rate(stable.Accuracy!.Value)} on stable version {stable.Version} ({stable.Labelled}) since the rollout started: {Points(drop)} below stable, more than max_accuracy_drop {maxDrop:0.####} ({Points(maxDrop)}), {where}"), null);
            }
        }
        if (plan.MinAgreement is { } minAgreement && quality.Agreement is { } agreement)
        {
            if (agreement.Compared < plan.QualitySamples)
            {
                pending.Add(Invariant($"waiting for shadow comparisons: {agreement.Compared} of min_quality_samples {plan.QualitySamples} rows compared"));
            }
            else if (agreement.Rate is { } rate && rate < minAgreement)
            {
                return (Invariant(
                    $"canary version {plan.Version} predicts stable's class for {Rate(rate)} of {agreement.Compared} rows copied to it as a shadow since the rollout started ({agreement.Agreed} agreed), under min_agreement {minAgreement:0.####} ({Rate(minAgreement)}), {where}"), null);
            }
        }
        return (null, pending.Count == 0 ? null : string.Join("; ", pending));
    }

    private static RolloutEvidence Evidence(StepMeasurement measured, ArmWindow stable, StableBasis basis)
    {
        var canary = measured.Canary;
        double? ratio = canary.P95Ms is { } c && stable.P95Ms is { } s && !double.IsInfinity(c) ? c / Math.Max(s, measured.LatencyFloorMs) : null;
        return new RolloutEvidence(
            Step: measured.Step,
            Percent: measured.Percent,
            WindowSeconds: Math.Round(measured.ElapsedSeconds, 3),
            Arms: new ArmsEvidence(ArmNumbers.Of(measured.Stable), ArmNumbers.Of(canary)),
            StableReference: basis == StableBasis.Rollout ? ArmNumbers.Of(stable) : null,
            ErrorRateDelta: Math.Round(canary.ErrorRate - stable.ErrorRate, 6),
            P95Ratio: ratio is { } r ? Math.Round(r, 3) : null,
            Gates: GateThresholds.Of(measured.Plan, measured.LatencyFloorMs))
        {
            Quality = measured.Quality is { } quality ? QualityEvidence.Of(quality) : null,
        };
    }

    private static string Basis(StableBasis basis) => basis == StableBasis.Rollout ? " since the rollout started, as stable took too little traffic in this step" : "";

    public static string Percent(double percent) => percent.ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Points(double fraction) => (fraction * 100).ToString("0.##", CultureInfo.InvariantCulture) + " points";

    private static string Rate(double rate) => (rate * 100).ToString("0.0#", CultureInfo.InvariantCulture) + " %";

    private static string Ms(double? milliseconds) => milliseconds switch
    {
        null => "n/a",
        { } ms when double.IsInfinity(ms) => $"over {ArmStatisticsKeys.LatencyBucketsMs[^1].ToString(CultureInfo.InvariantCulture)} ms",
        { } ms => ms.ToString("0.##", CultureInfo.InvariantCulture) + " ms",
    };

    private static string Ratio(double value, double reference) =>
        double.IsInfinity(value) ? "more than " + (ArmStatisticsKeys.LatencyBucketsMs[^1] / reference).ToString("0.##", CultureInfo.InvariantCulture) : (value / reference).ToString("0.##", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private enum StableBasis
    {
        Step,
        Rollout,
    }
}

/// <summary>What the controller measured for one step of a rollout.</summary>
/// <param name="Canary">The canary arm since the step started.</param>
/// <param name="Stable">The stable arm since the step started.</param>
/// <param name="StableSinceStart">The stable arm since the rollout's first step started (null: not known).</param>
/// <param name="Quality">The quality gates' numbers since the rollout started; null when the plan has no quality gate.</param>
internal sealed record StepMeasurement(
    CanaryPlan Plan,
    int Step,
    double Percent,
    double ElapsedSeconds,
    ArmWindow Canary,
    ArmWindow Stable,
    ArmWindow? StableSinceStart,
    double LatencyFloorMs,
    QualityMeasurement? Quality = null);

internal enum RolloutAction
{
    Wait,
    Step,
    Promote,
    RollBack,
}

internal sealed record RolloutDecision(RolloutAction Action, string Reason, RolloutEvidence Evidence);

/// <summary>The numbers behind a decision, as the audit log, webhooks and the status show them.</summary>
/// <param name="WindowSeconds">How long the step had run.</param>
/// <param name="StableReference">Stable since the rollout started, when the gates compared with it instead of the step's stable numbers.</param>
/// <param name="P95Ratio">The canary's p95 over max(stable's p95, the latency floor).</param>
internal sealed record RolloutEvidence(
    int Step,
    double Percent,
    double WindowSeconds,
    ArmsEvidence Arms,
    ArmNumbers? StableReference,
    double ErrorRateDelta,
    double? P95Ratio,
    GateThresholds Gates)
{
    /// <summary>The quality gates' numbers, when the plan has quality gates.</summary>
    public QualityEvidence? Quality { get; init; }
}

/// <param name="AccuracyDrop">Stable's accuracy less the canary's (positive: the canary is worse).</param>
/// <param name="AgreementRate">The share of compared rows where the canary predicted stable's class.</param>
internal sealed record QualityEvidence(ArmAccuracy? Stable, ArmAccuracy? Canary, double? AccuracyDrop, PredictionAgreement? Agreement, double? AgreementRate)
{
    public static QualityEvidence Of(QualityMeasurement quality) => new(
        quality.Stable is { } s ? s with { Accuracy = Round(s.Accuracy) } : null,
        quality.Canary is { } c ? c with { Accuracy = Round(c.Accuracy) } : null,
        Round(quality.Stable?.Accuracy - quality.Canary?.Accuracy),
        quality.Agreement,
        Round(quality.Agreement?.Rate));

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 6) : null;
}

internal sealed record ArmsEvidence(ArmNumbers Stable, ArmNumbers Canary);

/// <param name="P95Ms">The upper bound of the latency bucket holding the 95th percentile (the largest bound when above it); null without requests.</param>
internal sealed record ArmNumbers(long Version, long Requests, long Errors, double ErrorRate, double? P95Ms, double? MeanMs)
{
    public static ArmNumbers Of(ArmWindow window) => new(
        Version: window.Version,
        Requests: window.Requests,
        Errors: window.Errors,
        ErrorRate: Math.Round(window.ErrorRate, 6),
        P95Ms: window.P95Ms is { } p95 && double.IsInfinity(p95) ? ArmStatisticsKeys.LatencyBucketsMs[^1] : window.P95Ms,
        MeanMs: window.MeanMs is { } mean ? Math.Round(mean, 3) : null);
}

/// <param name="MinQualitySamples">Set when the plan has a quality gate.</param>
internal sealed record GateThresholds(
    int StepSeconds,
    long MinRequests,
    double MaxErrorRateDelta,
    double MaxP95LatencyRatio,
    double LatencyFloorMs,
    double? MaxAccuracyDrop = null,
    double? MinAgreement = null,
    long? MinQualitySamples = null)
{
    public static GateThresholds Of(CanaryPlan plan, double latencyFloorMs) => new(
        plan.StepSeconds,
        plan.MinRequests,
        plan.MaxErrorRateDelta,
        plan.MaxP95LatencyRatio,
        latencyFloorMs,
        plan.MaxAccuracyDrop,
        plan.MinAgreement,
        plan.MinQualitySamples);
}
