using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// <c>job.succeeded</c> and <c>job.failed</c>, queued in the transaction that finishes the job: to every configured
/// webhook subscribed to them, and to the job's own <c>webhook_url</c> (signed with the secret its submission was
/// given). A cancelled job sends nothing: whoever cancelled it knows.
/// </summary>
internal sealed class JobNotifications(WebhookOutbox outbox)
{
    public async Task EnqueueAsync(Db db, JobRecord job, CancellationToken cancellationToken)
    {
        var type = job.State switch
        {
            JobStates.Succeeded => NotificationEventTypes.JobSucceeded,
            JobStates.Failed => NotificationEventTypes.JobFailed,
            _ => null,
        };
        if (type is null)
        {
            return;
        }
        var notification = new NotificationEvent(
            type,
            job.TargetKind == JobTargetKinds.Model ? job.Target : null,
            "system:jobs",
            JobView.From(job));
        await outbox.EnqueueAsync(db, notification, cancellationToken);
        if (job.WebhookUrl is not null)
        {
            await using var command = db.Command("SELECT webhook_secret FROM jobs WHERE id = @id");
            command.Bind("id", job.Id);
            var secret = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
            await outbox.EnqueueToAsync(db, notification, job.WebhookUrl, secret, cancellationToken);
        }
    }
}
