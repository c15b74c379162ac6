using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// The convergence agent's instruments (meter <c>Hyperion.Inference.Convergence</c>): heartbeats by outcome,
/// downloads, loads and unloads by outcome, and the replica's model versions by state as last reported.
/// </summary>
internal sealed class ConvergenceMetrics
{
    public const string MeterName = "Hyperion.Inference.Convergence";

    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _operations;
    private IReadOnlyList<ReplicaModelState> _lastReport = [];

    public ConvergenceMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _heartbeats = Meter.CreateCounter<long>(
            "hyperion_inference_convergence_heartbeats_total", "{heartbeat}", "Heartbeats to the orchestrator by outcome (success, failure).");
        _operations = Meter.CreateCounter<long>(
            "hyperion_inference_convergence_operations_total", "{operation}", "Downloads, loads and unloads the agent made, by operation and outcome.");
        Meter.CreateObservableGauge(
            "hyperion_inference_convergence_versions", ObserveVersions, "{version}", "Model versions on this replica by state (loading, ready, failed, unloading), as last reported.");
    }

    public Meter Meter { get; }

    public void RecordHeartbeat(bool success) => _heartbeats.Add(1, new KeyValuePair<string, object?>("outcome", success ? "success" : "failure"));

    public void RecordOperation(string operation, bool success) =>
        _operations.Add(1, new TagList { { "operation", operation }, { "outcome", success ? "success" : "failure" } });

    public void RecordReport(IReadOnlyList<ReplicaModelState> report) => _lastReport = report;

    private IEnumerable<Measurement<int>> ObserveVersions()
    {
        var report = _lastReport;
        foreach (var phase in Enum.GetValues<ReplicaModelPhase>())
        {
            var count = 0;
            foreach (var state in report)
            {
                count += state.State == phase ? 1 : 0;
            }
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("state", phase.ToString().ToLowerInvariant()));
        }
    }
}
