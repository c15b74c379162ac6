using System.Collections.Concurrent;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Quality;
using Npgsql;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// Reads a rollout's quality numbers from the captures the gateways sampled (the deployment's monitoring) and the
/// labels sent to <c>POST /api/v1/feedback</c>: each arm's accuracy, scored as <c>GET .../quality</c> scores it, and
/// the agreement between stable's and the canary's predicted classes on the requests copied to the canary as a shadow.
/// Reading them parses every captured answer since the rollout started (up to <see cref="CaptureReader.MaxCaptures"/>
/// per arm), so a rollout's numbers are computed at most every <see cref="Refresh"/> and shared by the controller's
/// ticks and the status until then: evidence that grows by seconds of traffic does not need reading twice a second.
/// </summary>
internal sealed class QualityGateReader(NpgsqlDataSource dataSource, TimeProvider time)
{
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<(string Model, DateTimeOffset Started, long Stable, long Canary), (DateTimeOffset At, QualityMeasurement Numbers)> _recent = new();

    /// <summary>The numbers of the plan's quality gates since the rollout started; null when the plan has none.</summary>
    public async Task<QualityMeasurement?> ReadAsync(DeploymentSpec spec, RolloutRecord rollout, long stable, CancellationToken cancellationToken)
    {
        if (!rollout.Plan.HasQualityGates)
        {
            return null;
        }
        var key = (rollout.Model, rollout.StartedAt, stable, rollout.CanaryVersion);
        var now = time.GetUtcNow();
        if (_recent.TryGetValue(key, out var recent) && now - recent.At < Refresh)
        {
            return recent.Numbers;
        }
        var numbers = await MeasureAsync(spec, rollout, stable, cancellationToken);
        _recent[key] = (now, numbers);
        foreach (var (old, entry) in _recent)
        {
            // Rollouts that ended (or moved to another stable) are not asked again.
            if (now - entry.At > TimeSpan.FromMinutes(10))
            {
                _recent.TryRemove(old, out _);
            }
        }
        return numbers;
    }

    private async Task<QualityMeasurement> MeasureAsync(DeploymentSpec spec, RolloutRecord rollout, long stable, CancellationToken cancellationToken)
    {
        var plan = rollout.Plan;
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        var stableVersion = await MonitoredVersion.ReadAsync(db, rollout.Model, stable, cancellationToken);
        var canaryVersion = await MonitoredVersion.ReadAsync(db, rollout.Model, rollout.CanaryVersion, cancellationToken);
        if (stableVersion is null || canaryVersion is null)
        {
            // A version deleted under a rollout: the deployment's own checks deal with it; nothing to judge here.
            return new QualityMeasurement(null, null, null);
        }
        var until = DateTimeOffset.UtcNow;
        ArmAccuracy? stableAccuracy = null, canaryAccuracy = null;
        if (plan.MaxAccuracyDrop is not null)
        {
            stableAccuracy = await AccuracyAsync(db, stableVersion, spec, rollout.StartedAt, until, cancellationToken);
            canaryAccuracy = await AccuracyAsync(db, canaryVersion, spec, rollout.StartedAt, until, cancellationToken);
        }
        var agreement = plan.MinAgreement is not null
            ? await AgreementAsync(db, stableVersion, canaryVersion, spec, rollout.StartedAt, cancellationToken)
            : null;
        return new QualityMeasurement(stableAccuracy, canaryAccuracy, agreement);
    }

    private static async Task<ArmAccuracy> AccuracyAsync(
        Db db, MonitoredVersion version, DeploymentSpec spec, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var labelled = await QualityReader.LabelledAsync(db, version, OutputOf(version, spec), since, until, cancellationToken);
        var (scores, count, _) = QualityReader.Score(classifier: true, labelled);
        return new ArmAccuracy(version.Version, count, count == 0 ? null : scores.Metrics.GetValueOrDefault("accuracy"));
    }

    private static async Task<PredictionAgreement> AgreementAsync(
        Db db, MonitoredVersion stable, MonitoredVersion canary, DeploymentSpec spec, DateTimeOffset since, CancellationToken cancellationToken)
    {
        if (OutputOf(stable, spec) is not { } stableOutput || OutputOf(canary, spec) is not { } canaryOutput)
        {
            return new PredictionAgreement(0, 0);
        }
        // A shadow copy is captured under the request id of the stable answer it copies (captures are unique per
        // request id and arm), so the pair joins on it.
        await using var command = db.Command($"""
            SELECT (s.outputs -> @stable_output)::text, (c.outputs -> @canary_output)::text
            FROM captures s
            JOIN captures c ON c.request_id = s.request_id AND c.arm = 'shadow'
            WHERE s.model = @model AND s.version = @stable AND s.arm = 'stable' AND s.captured_at >= @since
              AND c.model = @model AND c.version = @canary
            ORDER BY s.captured_at DESC
            LIMIT {CaptureReader.MaxCaptures}
            """);
        command.Bind("model", stable.Model);
        command.Bind("stable", stable.Version);
        command.Bind("canary", canary.Version);
        command.Bind("stable_output", stableOutput);
        command.Bind("canary_output", canaryOutput);
        command.Bind("since", since.ToUniversalTime());
        var pairs = await command.ReadAllAsync(reader => (
            Stable: CapturedTensor.Parse(reader.IsDBNull(0) ? null : reader.GetString(0)),
            Canary: CapturedTensor.Parse(reader.IsDBNull(1) ? null : reader.GetString(1))), cancellationToken);
        long compared = 0, agreed = 0;
        foreach (var (left, right) in pairs)
        {
            if (left is null || right is null || left.Rows != right.Rows)
            {
                continue;
            }
            for (var row = 0; row < left.Rows; row++)
            {
                compared++;
                if (left.PredictedClass(row) == right.PredictedClass(row))
                {
                    agreed++;
                }
            }
        }
        return new PredictionAgreement(compared, agreed);
    }

    /// <summary>The output predictions are read from: the deployment's <c>prediction_output</c>, or the version's first output.</summary>
    private static string? OutputOf(MonitoredVersion version, DeploymentSpec spec) => spec.Monitoring?.PredictionOutput ?? version.FirstOutput;
}
