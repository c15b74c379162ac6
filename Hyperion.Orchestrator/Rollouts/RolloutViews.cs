using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// <c>rollout</c> on <c>GET /api/v1/deployments/{m}</c>, during a plan and after it: where the rollout is, why, the
/// plan with its defaults, the arms' numbers over the current step (live while it runs; the last decision's after),
/// and the last decision.
/// </summary>
/// <param name="Reason">Why the rollout is where it is: the last decision's reason.</param>
/// <param name="Arms">Per arm (<c>stable</c>, <c>canary</c>): version, requests, errors, error_rate, p95_ms, mean_ms.</param>
/// <param name="Analysis">While the rollout runs: what the controller makes of the numbers right now (e.g. what it waits for).</param>
internal sealed record RolloutView(
    RolloutState State,
    int Step,
    double Percent,
    string? Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset? StepStartedAt,
    CanaryPlan Plan,
    JsonNode? Arms,
    LastDecisionView? LastDecision,
    string? Analysis,
    long StableVersion,
    long CanaryVersion,
    long StartedRevision)
{
    /// <summary>With quality gates: each arm's accuracy and the shadow agreement since the rollout started (live while it runs; the last decision's after).</summary>
    public JsonNode? Quality { get; init; }
}

internal sealed record LastDecisionView(string Action, DateTimeOffset At, string? Reason);

/// <summary>
/// <c>shadow_analysis</c>: how the shadow version's answers compare with stable's on the copies the gateways sent it,
/// counted since the shadow arm first took copies.
/// </summary>
/// <param name="Compared">Copies whose first output was compared with stable's.</param>
/// <param name="AgreementRate">Of those, the share whose top class (argmax) matched; null before the first comparison.</param>
/// <param name="MeanAbsDiff">Mean over compared copies of the largest absolute difference of the first output.</param>
/// <param name="MaxAbsDiff">The largest absolute difference seen.</param>
internal sealed record ShadowAnalysisView(
    long Version,
    long Compared,
    long Agreed,
    double? AgreementRate,
    double? MeanAbsDiff,
    double? MaxAbsDiff,
    long Requests,
    long Errors,
    double ErrorRate,
    double? P95Ms);
