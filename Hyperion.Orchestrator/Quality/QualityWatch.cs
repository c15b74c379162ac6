using System.Globalization;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// Judges a classifier's quality on the schedule: over the last <see cref="QualityOptions.QualityWindowHours"/>, with
/// at least <see cref="QualityOptions.MinLabelledRows"/> labelled rows, its quality has degraded when its accuracy is
/// more than <see cref="QualityOptions.MaxAccuracyDrop"/> below the accuracy it was registered with
/// (<see cref="MonitoredVersion.RegisteredAccuracy"/>). Becoming degraded is audited and sent as
/// <c>model.quality_degraded</c>; coming back is audited as <c>model.quality_recovered</c>. The audit log is the
/// state: the version's last of those two entries says whether it is degraded now.
/// </summary>
internal sealed partial class QualityWatch(
    NpgsqlDataSource dataSource,
    WebhookOutbox outbox,
    TimeProvider time,
    IOptions<QualityOptions> options,
    ILogger<QualityWatch> logger)
{
    public async Task JudgeAsync(MonitoredVersion version, MonitoringSpec? monitoring, string actor, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        var now = time.GetUtcNow();
        var output = monitoring?.PredictionOutput ?? version.FirstOutput;
        var report = await QualityReader.ReadAsync(db, version, output, now.AddHours(-settings.QualityWindowHours), now, cancellationToken);
        await using (var saved = await Db.OpenAsync(dataSource, cancellationToken))
        {
            // Outside the judgement's transaction, which commits only when the verdict changes.
            await QualityResultStore.SaveAsync(saved, version.Model, version.Version, report.Metrics, cancellationToken);
        }
        if (!version.IsClassifier || version.RegisteredAccuracy is not { } registered || report.Count < settings.MinLabelledRows)
        {
            return;
        }
        var accuracy = report.Metrics["accuracy"];
        var degraded = accuracy < registered - settings.MaxAccuracyDrop;

        await using (var command = db.Command("SELECT pg_advisory_xact_lock(hashtextextended('hyperion.quality:' || @model || ':' || @version::text, 0))"))
        {
            command.Bind("model", version.Model);
            command.Bind("version", version.Version);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        var target = $"version {version.Version}";
        var wasDegraded = await LastStateAsync(db, version.Model, target, cancellationToken) == AuditAction.ModelQualityDegraded.Name();
        if (degraded == wasDegraded)
        {
            return;
        }
        var details = new QualityChange(version.Version, accuracy, registered, settings.MaxAccuracyDrop, report.Count, report.Metrics,
            string.Create(CultureInfo.InvariantCulture,
                $"accuracy {accuracy:0.####} over {report.Count} labelled rows in the last {settings.QualityWindowHours:0.##} h, registered with {registered:0.####} (allowed drop {settings.MaxAccuracyDrop:0.####})"));
        var action = degraded ? AuditAction.ModelQualityDegraded : AuditAction.ModelQualityRecovered;
        await AuditLog.AppendAsync(db, new AuditEntry(actor, action, version.Model, target, Details: details), cancellationToken);
        if (degraded)
        {
            await outbox.EnqueueAsync(db, new NotificationEvent(NotificationEventTypes.ModelQualityDegraded, version.Model, actor, details), cancellationToken);
        }
        await db.CommitAsync(cancellationToken);
        LogQualityChanged(logger, version.Model, version.Version, action.Name(), details.Reason);
    }

    private static async Task<string?> LastStateAsync(Db db, string model, string target, CancellationToken cancellationToken)
    {
        await using var command = db.Command("""
            SELECT action FROM audit_log
            WHERE model = @model AND target = @target AND action IN ('model.quality_degraded', 'model.quality_recovered')
            ORDER BY id DESC LIMIT 1
            """);
        command.Bind("model", model);
        command.Bind("target", target);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private sealed record QualityChange(
        long Version, double Accuracy, double RegisteredAccuracy, double MaxAccuracyDrop, long LabelledRows, IReadOnlyDictionary<string, double> Metrics, string Reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quality of {Model} version {Version}: {Action}: {Reason}")]
    private static partial void LogQualityChanged(ILogger logger, string model, long version, string action, string reason);
}
