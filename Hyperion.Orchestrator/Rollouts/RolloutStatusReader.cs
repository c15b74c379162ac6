using System.Globalization;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>The rollout and shadow parts of a deployment's status, from the rollout row and the gateways' counters.</summary>
internal sealed class RolloutStatusReader(NpgsqlDataSource dataSource, ArmStatisticsReader statistics, QualityGateReader qualityGates, IOptions<RolloutOptions> options)
{
    public async Task<DeploymentView> DescribeAsync(DeploymentRecord deployment, DeploymentView view, CancellationToken cancellationToken)
    {
        var rollout = await RolloutStore.ReadAsync(dataSource, deployment.Model, cancellationToken);
        return view with
        {
            Rollout = await RolloutAsync(deployment, rollout, cancellationToken),
            ShadowAnalysis = deployment.Spec.Shadow is { } shadow ? await ShadowAsync(deployment.Model, shadow.Version) : null,
        };
    }

    private async Task<RolloutView?> RolloutAsync(DeploymentRecord deployment, RolloutRecord? rollout, CancellationToken cancellationToken)
    {
        if ((rollout is null || rollout.Revision != deployment.Revision) && CanaryPlan.Of(deployment.Spec.Canary) is { } plan)
        {
            // PUT a moment ago: the controller picks the plan up on its next tick.
            var starting = RolloutController.Start(deployment, plan, deployment.UpdatedAt,
                string.Create(CultureInfo.InvariantCulture, $"revision {deployment.Revision} rolls out version {plan.Version}; the rollout controller is picking it up"));
            return View(starting with { LastAction = null, LastDecisionAt = null }, arms: null, analysis: null);
        }
        if (rollout is null)
        {
            return null;
        }
        if (!rollout.IsActive)
        {
            return View(rollout, rollout.Evidence?["arms"]?.DeepClone(), analysis: null) with { Quality = rollout.Evidence?["quality"]?.DeepClone() };
        }
        if (rollout.StepStartedAt is not { } started || rollout.Baseline is not { } baseline || deployment.ServingStable is not { } serving)
        {
            return View(rollout, arms: null, string.Create(CultureInfo.InvariantCulture, $"the step's window starts on the controller's next tick once version {rollout.CanaryVersion} is ready on a replica and the stable serves"));
        }
        try
        {
            var stable = (await statistics.ReadAsync(deployment.Model, serving, ArmStatisticsKeys.Stable)).Since(baseline.Stable);
            var canary = (await statistics.ReadAsync(deployment.Model, rollout.CanaryVersion, ArmStatisticsKeys.Canary)).Since(baseline.Canary);
            var decision = RolloutAnalysis.Decide(new StepMeasurement(
                Plan: rollout.Plan,
                Step: rollout.Step,
                Percent: rollout.Percent,
                ElapsedSeconds: (DateTimeOffset.UtcNow - started).TotalSeconds,
                Canary: canary,
                Stable: stable,
                StableSinceStart: null,
                LatencyFloorMs: options.Value.LatencyGateFloorMs,
                Quality: await qualityGates.ReadAsync(deployment.Spec, rollout, serving, cancellationToken)));
            var analysis = decision.Action switch
            {
                RolloutAction.Wait => decision.Reason,
                _ when rollout.State == RolloutState.Paused && decision.Action != RolloutAction.RollBack => "paused, so it does not move on: " + decision.Reason,
                _ => "deciding: " + decision.Reason,
            };
            return View(rollout, JsonSerializer.SerializeToNode(decision.Evidence.Arms, ControlPlaneJson.Options), analysis) with
            {
                Quality = decision.Evidence.Quality is { } quality ? JsonSerializer.SerializeToNode(quality, ControlPlaneJson.Options) : null,
            };
        }
        catch (StatisticsUnavailableException ex)
        {
            return View(rollout, arms: null, ex.Message);
        }
    }

    private async Task<ShadowAnalysisView?> ShadowAsync(string model, long version)
    {
        try
        {
            var totals = await statistics.ReadShadowAsync(model, version);
            var arm = totals.Arm.Since(null);
            var compared = totals.Compared;
            return new ShadowAnalysisView(
                Version: version,
                Compared: compared,
                Agreed: totals.Agreed,
                AgreementRate: compared == 0 ? null : Math.Round((double)totals.Agreed / compared, 6),
                MeanAbsDiff: compared == 0 ? null : totals.AbsDiffSum / compared,
                MaxAbsDiff: compared == 0 ? null : totals.AbsDiffMax,
                Requests: arm.Requests,
                Errors: arm.Errors,
                ErrorRate: Math.Round(arm.ErrorRate, 6),
                P95Ms: ArmNumbers.Of(arm).P95Ms);
        }
        catch (StatisticsUnavailableException)
        {
            // The status still answers without Redis; the shadow's numbers are left out until it is back.
            return null;
        }
    }

    private static RolloutView View(RolloutRecord rollout, System.Text.Json.Nodes.JsonNode? arms, string? analysis) => new(
        State: rollout.State,
        Step: rollout.Step,
        Percent: rollout.Percent,
        Reason: rollout.Reason,
        StartedAt: rollout.StartedAt,
        StepStartedAt: rollout.StepStartedAt,
        Plan: rollout.Plan,
        Arms: arms,
        LastDecision: rollout.LastAction is { } action && rollout.LastDecisionAt is { } at ? new LastDecisionView(action.Name(), at, rollout.Reason) : null,
        Analysis: analysis,
        StableVersion: rollout.StableVersion,
        CanaryVersion: rollout.CanaryVersion,
        StartedRevision: rollout.StartedRevision);
}
