using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Audit;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>A row of <c>rollouts</c>: a model's current or last rollout.</summary>
/// <param name="Revision">The deployment revision the rollout is at (it started it, or the rollout wrote it).</param>
/// <param name="StepStartedAt">When the current step's window started; null while the canary version loads.</param>
/// <param name="Baseline">The arms' counters when the step started.</param>
/// <param name="StableAtStart">The stable arm's counters when the first step started.</param>
/// <param name="Evidence">The numbers behind the last decision.</param>
internal sealed record RolloutRecord(
    string Model,
    long Revision,
    long StartedRevision,
    long StableVersion,
    long CanaryVersion,
    CanaryPlan Plan,
    RolloutState State,
    int Step,
    double Percent,
    DateTimeOffset StartedAt,
    DateTimeOffset? StepStartedAt,
    StepBaseline? Baseline,
    ArmTotals? StableAtStart,
    AuditAction? LastAction,
    DateTimeOffset? LastDecisionAt,
    string? Reason,
    JsonNode? Evidence)
{
    public bool IsActive => State is RolloutState.Progressing or RolloutState.Paused;
}

internal enum RolloutState
{
    Progressing,
    Paused,
    Promoted,
    RolledBack,
}

internal sealed record StepBaseline(ArmTotals Stable, ArmTotals Canary);
