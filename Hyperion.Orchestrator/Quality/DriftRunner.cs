using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// Computes one version's drift now (for the schedule and <c>POST .../drift/run</c>): reads the window's captures,
/// judges them (<see cref="DriftAnalysis"/>, <see cref="PredictionDriftAnalysis"/>), and appends the result; when the
/// verdict becomes drifted, the audit entry and the <c>model.drift_detected</c> event commit with it. Runs of one
/// version take turns (an advisory lock), so a verdict turns drifted once, whoever computed it.
/// </summary>
internal sealed partial class DriftRunner(
    NpgsqlDataSource dataSource,
    WebhookOutbox outbox,
    QualitySignals signals,
    TimeProvider time,
    ILogger<DriftRunner> logger)
{
    /// <summary>The drift settings of a deployment without <c>monitoring</c> (asked for by hand): the documented defaults.</summary>
    public static readonly DriftSpec DefaultDrift = new(
        DeploymentSpecValidator.DefaultPsiThreshold,
        DeploymentSpecValidator.DefaultDriftedShare,
        DeploymentSpecValidator.DefaultDriftMinRows,
        DeploymentSpecValidator.DefaultDriftWindowMinutes);

    /// <summary>Computes and stores the drift of <paramref name="version"/>, which has a baseline profile.</summary>
    public async Task<DriftResult> RunAsync(
        MonitoredVersion version, MonitoringSpec? monitoring, string trigger, string actor, CancellationToken cancellationToken)
    {
        var profile = version.Profile ?? throw new ArgumentException($"Version {version.Version} of {version.Model} has no baseline profile.", nameof(version));
        var drift = monitoring?.Drift ?? DefaultDrift;
        var thresholds = new DriftThresholds(drift.PsiThreshold, drift.DriftedShare, drift.MinRows);
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        await LockAsync(db, version, cancellationToken);

        var end = time.GetUtcNow();
        var start = end.AddMinutes(-drift.WindowMinutes);
        var inputs = await CaptureReader.TensorsAsync(db, version.Model, version.Version, TensorSide.Inputs, profile.Input, start, end, cancellationToken);
        var (rows, counts) = DriftAnalysis.Count(profile, inputs);
        var data = DriftAnalysis.Judge(profile, rows, counts, thresholds);
        var output = monitoring?.PredictionOutput ?? version.FirstOutput;
        var prediction = output is null
            ? null
            : await PredictionAsync(db, version, output, TimeSpan.FromMinutes(drift.WindowMinutes), start, end, thresholds.PsiThreshold, cancellationToken);

        var result = new DriftResult(
            Model: version.Model,
            Version: version.Version,
            ComputedAt: end,
            Trigger: trigger,
            Window: new DriftWindow(start, end, drift.WindowMinutes),
            Rows: data.Rows,
            Score: data.Score,
            Drifted: data.Drifted,
            Reason: data.Reason,
            MeanPsi: data.MeanPsi,
            DriftedFeatures: data.DriftedFeatures,
            Thresholds: thresholds,
            Features: data.Features,
            Prediction: prediction);

        var before = await DriftResultStore.LatestVerdictAsync(db, version.Model, version.Version, cancellationToken);
        await DriftResultStore.AppendAsync(db, result, cancellationToken);
        var detected = result.Drifted && before != true;
        if (detected)
        {
            var details = new DriftDetected(version.Version, result.Rows, result.Score, result.DriftedFeatures, result.Features.Count,
                [.. result.Features.Where(f => f.Drifted).Take(10).Select(f => new DriftedFeature(f.Name, f.Psi))], result.Prediction?.Psi, thresholds, trigger);
            await AuditLog.AppendAsync(db, new AuditEntry(actor, AuditAction.ModelDriftDetected, version.Model, $"version {version.Version}", Details: details), cancellationToken);
            await outbox.EnqueueAsync(db, new NotificationEvent(NotificationEventTypes.ModelDriftDetected, version.Model, actor, details), cancellationToken);
        }
        await db.CommitAsync(cancellationToken);
        signals.Drift(version.Model, version.Version, result.Score);
        if (detected)
        {
            LogDriftDetected(logger, version.Model, version.Version, result.DriftedFeatures, result.Features.Count, result.Rows);
        }
        return result;
    }

    private static async Task<PredictionDrift> PredictionAsync(
        Db db, MonitoredVersion version, string output, TimeSpan window, DateTimeOffset start, DateTimeOffset end, double psiThreshold, CancellationToken cancellationToken)
    {
        var current = await CaptureReader.TensorsAsync(db, version.Model, version.Version, TensorSide.Outputs, output, start, end, cancellationToken);
        var baseline = version.Profile?.Predictions;
        var useBaseline = version.IsClassifier ? baseline?.Classes is not null : baseline?.Edges is not null;
        var (reference, referenceStart, _) = useBaseline
            ? ([], null, null)
            : await CaptureReader.EarliestOutputsAsync(db, version.Model, version.Version, output, window, start, cancellationToken);
        var source = useBaseline ? "baseline_profile" : "earliest_captures";

        if (version.IsClassifier)
        {
            var counts = ClassCounts(current);
            if (!useBaseline && referenceStart is null)
            {
                return PredictionDriftAnalysis.NoReference(output, "classes", counts.Values.Sum(), NoReferenceYet);
            }
            return PredictionDriftAnalysis.Classes(output, source, useBaseline ? baseline!.Classes! : ClassCounts(reference), counts, psiThreshold);
        }
        var values = Values(current);
        if (useBaseline)
        {
            return PredictionDriftAnalysis.Histogram(output, source, baseline!.Edges!, baseline.Counts!, values, psiThreshold);
        }
        var referenceValues = Values(reference);
        if (PredictionDriftAnalysis.EdgesOf(referenceValues) is not { } edges)
        {
            return PredictionDriftAnalysis.NoReference(output, "histogram", values.Count, NoReferenceYet);
        }
        return PredictionDriftAnalysis.Histogram(output, source, edges, PredictionDriftAnalysis.CountInto(edges, referenceValues), values, psiThreshold);
    }

    private const string NoReferenceYet =
        "no reference yet: the version has no captures before this window and its baseline_profile has no \"predictions\"";

    private static Dictionary<string, long> ClassCounts(IEnumerable<CapturedTensor> tensors)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            for (var row = 0; row < tensor.Rows; row++)
            {
                var predicted = tensor.PredictedClass(row);
                counts[predicted] = counts.GetValueOrDefault(predicted) + 1;
            }
        }
        return counts;
    }

    private static List<double> Values(IEnumerable<CapturedTensor> tensors)
    {
        var values = new List<double>();
        foreach (var tensor in tensors)
        {
            for (var row = 0; row < tensor.Rows; row++)
            {
                values.Add(tensor.PredictedValue(row));
            }
        }
        return values;
    }

    private static async Task LockAsync(Db db, MonitoredVersion version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.drift:' || @model || ':' || @version::text, 0))");
        command.Bind("model", version.Model);
        command.Bind("version", version.Version);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>What the audit entry and the webhook event of <c>model.drift_detected</c> carry.</summary>
    private sealed record DriftDetected(
        long Version, long Rows, double? Score, int DriftedFeatures, int Features, IReadOnlyList<DriftedFeature> Worst, double? PredictionPsi, DriftThresholds Thresholds, string Trigger);

    private sealed record DriftedFeature(string Name, double? Psi);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift detected on {Model} version {Version}: {DriftedFeatures} of {Features} features drifted over {Rows} rows")]
    private static partial void LogDriftDetected(ILogger logger, string model, long version, int driftedFeatures, int features, long rows);
}
