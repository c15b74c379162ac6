namespace Hyperion.Orchestrator.Jobs;

/// <summary>A job as the API (and its webhooks) show it.</summary>
/// <param name="Done">Lines with a result: outputs or an error.</param>
/// <param name="Failed">Of those, lines whose result is an error.</param>
/// <param name="Progress">Done ÷ total, 0 to 1.</param>
/// <param name="Reason">Why it failed or was cancelled; while it runs, the first line error, if any.</param>
/// <param name="WebhookSecret">Only in the submission's answer: signs the deliveries to <paramref name="WebhookUrl"/>.</param>
internal sealed record JobView(
    Guid Id,
    string State,
    IReadOnlyDictionary<string, string> Target,
    long? Version,
    long? Revision,
    string InputFormat,
    long Total,
    long Done,
    long Failed,
    long Succeeded,
    double Progress,
    string? Reason,
    string? WebhookUrl,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string Results,
    string? WebhookSecret = null)
{
    public static JobView From(JobRecord job, string? webhookSecret = null) => new(
        job.Id,
        job.State,
        new Dictionary<string, string>(StringComparer.Ordinal) { [job.TargetKind] = job.Target },
        job.Version,
        job.Revision,
        job.InputFormat,
        job.Total,
        job.Done,
        job.Failed,
        job.Done - job.Failed,
        job.Total == 0 ? 0 : Math.Round((double)job.Done / job.Total, 4),
        job.Reason,
        job.WebhookUrl,
        job.CreatedBy,
        job.CreatedAt,
        job.StartedAt,
        job.FinishedAt,
        $"/api/v1/jobs/{job.Id}/results",
        webhookSecret);
}

internal sealed record JobList(IReadOnlyList<JobView> Jobs);
