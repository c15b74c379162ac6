using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Rollouts;

namespace Hyperion.Tests.Rollouts;

/// <summary>The controller's judgement of a step from the numbers alone (the graph tests see it act on live traffic).</summary>
public sealed class RolloutAnalysisTests
{
    private static readonly CanaryPlan Plan = new(Version: 2, Steps: [10, 50, 100], StepSeconds: 60, MinRequests: 100, MaxErrorRateDelta: 0.02, MaxP95LatencyRatio: 2.0);

    [Fact]
    public void Too_few_canary_requests_wait_even_when_every_one_failed()
    {
        var decision = Decide(step: 0, seconds: 600, canary: Arm(2, 99, 99, 5), stable: Arm(1, 1000, 0, 5));
        Assert.Equal(RolloutAction.Wait, decision.Action);
        Assert.Contains("99 of 100 requests", decision.Reason);
    }

    [Fact]
    public void A_failing_error_gate_rolls_back_before_the_step_time_is_up()
    {
        var decision = Decide(step: 0, seconds: 1, canary: Arm(2, 100, 10, 5), stable: Arm(1, 900, 9, 5));
        Assert.Equal(RolloutAction.RollBack, decision.Action);
        Assert.Contains("error rate 10.0 % on canary version 2 (10 of 100 requests) vs 1.0 % on stable version 1 (9 of 900)", decision.Reason);
        Assert.Equal(0.09, decision.Evidence.ErrorRateDelta, 6);
        Assert.Equal(10, decision.Evidence.Arms.Canary.Errors);
    }

    [Fact]
    public void Errors_within_the_delta_hold()
    {
        var decision = Decide(step: 0, seconds: 60, canary: Arm(2, 100, 3, 5), stable: Arm(1, 900, 9, 5));
        Assert.Equal(RolloutAction.Step, decision.Action);
        Assert.Contains("step 1, 50 %", decision.Reason);
    }

    [Fact]
    public void A_slow_canary_fails_the_latency_gate_and_small_latencies_are_judged_against_the_floor()
    {
        // Not before the step's time is up: a p95 of the first requests is noise.
        Assert.Equal(RolloutAction.Wait, Decide(step: 1, seconds: 5, canary: Arm(2, 200, 0, 300), stable: Arm(1, 200, 0, 50)).Action);
        var slow = Decide(step: 1, seconds: 60, canary: Arm(2, 200, 0, 300), stable: Arm(1, 200, 0, 50));
        Assert.Equal(RolloutAction.RollBack, slow.Action);
        Assert.Contains("p95 latency 300 ms on canary version 2 vs 50 ms on stable version 1", slow.Reason);
        Assert.Equal(6, slow.Evidence.P95Ratio);

        // 7.5 ms against 2 ms is a ratio of 3.75, but both are under the 10 ms floor: noise, not a regression.
        var fast = Decide(step: 1, seconds: 60, canary: Arm(2, 200, 0, 7.5), stable: Arm(1, 200, 0, 2));
        Assert.Equal(RolloutAction.Step, fast.Action);
        var overFloor = Decide(step: 1, seconds: 60, canary: Arm(2, 200, 0, 30), stable: Arm(1, 200, 0, 2));
        Assert.Equal(RolloutAction.RollBack, overFloor.Action);
        Assert.Contains("the 10 ms floor", overFloor.Reason);
    }

    [Fact]
    public void Gates_that_hold_wait_for_the_step_time_then_step_and_the_last_step_promotes()
    {
        Assert.Equal(RolloutAction.Wait, Decide(step: 0, seconds: 59.9, canary: Arm(2, 500, 0, 5), stable: Arm(1, 500, 0, 5)).Action);
        Assert.Equal(RolloutAction.Step, Decide(step: 1, seconds: 60, canary: Arm(2, 500, 0, 5), stable: Arm(1, 500, 0, 5)).Action);
        var last = Decide(step: 2, seconds: 60, canary: Arm(2, 500, 0, 5), stable: Arm(1, 0, 0, 5), stableSinceStart: Arm(1, 2000, 0, 5));
        Assert.Equal(RolloutAction.Promote, last.Action);
        Assert.Contains("version 2 becomes stable", last.Reason);
    }

    [Fact]
    public void At_100_percent_stable_is_compared_over_the_whole_rollout()
    {
        // Stable takes no traffic at 100 %: its errors since the rollout started are the reference.
        var decision = Decide(step: 2, seconds: 60, canary: Arm(2, 500, 25, 5), stable: Arm(1, 0, 0, 5), stableSinceStart: Arm(1, 1000, 40, 5));
        Assert.Equal(RolloutAction.Promote, decision.Action);
        Assert.Contains("since the rollout started", decision.Reason);
        Assert.Equal(1000, decision.Evidence.StableReference!.Requests);
        Assert.Equal(0.01, decision.Evidence.ErrorRateDelta, 6);
    }

    [Fact]
    public void A_canary_less_accurate_than_stable_by_more_than_the_drop_rolls_back_at_once()
    {
        var plan = Plan with { MaxAccuracyDrop = 0.05, MinQualitySamples = 40 };
        var quality = new QualityMeasurement(new ArmAccuracy(1, 60, 0.95), new ArmAccuracy(2, 40, 0.85), null);

        var decision = Decide(step: 0, seconds: 1, canary: Arm(2, 100, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan, quality: quality);

        Assert.Equal(RolloutAction.RollBack, decision.Action);
        Assert.Contains("accuracy 85.0 % on canary version 2 (40 labelled rows) vs 95.0 % on stable version 1 (60)", decision.Reason);
        Assert.Contains("10 points below stable, more than max_accuracy_drop 0.05 (5 points)", decision.Reason);
        Assert.Equal(0.1, decision.Evidence.Quality!.AccuracyDrop!.Value, 6);
        Assert.Equal(0.05, decision.Evidence.Gates.MaxAccuracyDrop);

        // Within the drop the canary moves on as before.
        var close = quality with { Canary = new ArmAccuracy(2, 40, 0.92) };
        Assert.Equal(RolloutAction.Step, Decide(step: 0, seconds: 60, canary: Arm(2, 100, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan, quality: close).Action);
    }

    [Fact]
    public void Without_enough_labels_the_rollout_neither_steps_nor_promotes_and_says_what_it_waits_for()
    {
        var plan = Plan with { MaxAccuracyDrop = 0.05, MinQualitySamples = 40 };
        // 39 labelled canary rows, all wrong: not yet evidence.
        var quality = new QualityMeasurement(new ArmAccuracy(1, 60, 1.0), new ArmAccuracy(2, 39, 0.0), null);

        foreach (var step in new[] { 0, 2 })
        {
            var decision = Decide(step, seconds: 600, canary: Arm(2, 500, 0, 5), stable: Arm(1, 500, 0, 5), plan: plan, quality: quality);
            Assert.Equal(RolloutAction.Wait, decision.Action);
            Assert.Contains("but waiting for labels: 39 labelled rows of canary version 2 and 60 of stable version 1, min_quality_samples 40 each", decision.Reason);
        }
    }

    [Fact]
    public void A_canary_that_disagrees_with_stable_on_shadowed_rows_fails_the_agreement_gate()
    {
        var plan = Plan with { MinAgreement = 0.9, MinQualitySamples = 50 };

        var pending = Decide(step: 0, seconds: 60, canary: Arm(2, 100, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan,
            quality: new QualityMeasurement(null, null, new PredictionAgreement(49, 0)));
        Assert.Equal(RolloutAction.Wait, pending.Action);
        Assert.Contains("waiting for shadow comparisons: 49 of min_quality_samples 50 rows compared", pending.Reason);

        var failing = Decide(step: 0, seconds: 1, canary: Arm(2, 100, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan,
            quality: new QualityMeasurement(null, null, new PredictionAgreement(80, 60)));
        Assert.Equal(RolloutAction.RollBack, failing.Action);
        Assert.Contains("canary version 2 predicts stable's class for 75.0 % of 80 rows copied to it as a shadow since the rollout started (60 agreed), under min_agreement 0.9 (90.0 %)", failing.Reason);
        Assert.Equal(0.75, failing.Evidence.Quality!.AgreementRate);
        // Shadow copies are evidence of their own: a canary with hardly any traffic of its own yet is rolled back too.
        Assert.Equal(RolloutAction.RollBack, Decide(step: 0, seconds: 1, canary: Arm(2, 3, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan,
            quality: new QualityMeasurement(null, null, new PredictionAgreement(80, 60))).Action);

        var holding = Decide(step: 0, seconds: 60, canary: Arm(2, 100, 0, 5), stable: Arm(1, 900, 0, 5), plan: plan,
            quality: new QualityMeasurement(null, null, new PredictionAgreement(80, 76)));
        Assert.Equal(RolloutAction.Step, holding.Action);
    }

    [Fact]
    public void Counters_that_went_back_count_from_zero()
    {
        var baseline = new ArmTotals(1, 1000, 10, 5000, Buckets(1000, 5));
        var now = new ArmTotals(1, 50, 1, 250, Buckets(50, 5));
        Assert.Equal(50, now.Since(baseline).Requests);
        var later = new ArmTotals(1, 1100, 12, 5500, Buckets(1100, 5));
        Assert.Equal((100, 2), (later.Since(baseline).Requests, later.Since(baseline).Errors));
        Assert.Equal(5, later.Since(baseline).P95Ms);
    }

    private static RolloutDecision Decide(
        int step, double seconds, ArmWindow canary, ArmWindow stable, ArmWindow? stableSinceStart = null, CanaryPlan? plan = null, QualityMeasurement? quality = null) =>
        RolloutAnalysis.Decide(new StepMeasurement(
            Plan: plan ?? Plan,
            Step: step,
            Percent: Plan.Steps[step],
            ElapsedSeconds: seconds,
            Canary: canary,
            Stable: stable,
            StableSinceStart: stableSinceStart,
            LatencyFloorMs: 10,
            Quality: quality));

    /// <summary>An arm whose requests all took <paramref name="ms"/> (one of the statistics' bucket bounds).</summary>
    private static ArmWindow Arm(long version, long requests, long errors, double ms) => new(version, requests, errors, requests * ms, Buckets(requests, ms));

    private static long[] Buckets(long requests, double ms)
    {
        var buckets = new long[ArmTotals.BucketCount];
        buckets[ArmStatisticsKeys.LatencyBucketsMs.ToList().IndexOf(ms)] = requests;
        return buckets;
    }
}
