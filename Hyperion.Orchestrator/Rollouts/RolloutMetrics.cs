using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>Rollout instruments (meter <c>Hyperion.Orchestrator.Rollouts</c>), labelled by action only (a bounded set).</summary>
internal sealed class RolloutMetrics
{
    public const string MeterName = "Hyperion.Orchestrator.Rollouts";

    private readonly Counter<long> _decisions;
    private readonly Counter<long> _ticksSkipped;

    public RolloutMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _decisions = meter.CreateCounter<long>(
            "hyperion_orchestrator_rollout_decisions_total", "{decision}", "Rollout decisions by action (rollout.step, rollout.promoted, rollout.rolled_back, ...).");
        _ticksSkipped = meter.CreateCounter<long>(
            "hyperion_orchestrator_rollout_skipped_total", "{rollout}", "Rollouts a tick left alone because another orchestrator held them.");
    }

    public void Decision(string action) => _decisions.Add(1, new TagList { { "action", action } });

    public void Skipped() => _ticksSkipped.Add(1);
}
