namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Something that happened on the control plane that webhooks are told about. Hand it to
/// <see cref="WebhookOutbox.EnqueueAsync"/> inside the transaction that makes the change.
/// </summary>
/// <param name="Type">One of <see cref="NotificationEventTypes"/>, e.g. <c>rollout.rolled_back</c>.</param>
/// <param name="Model">The model it concerns; null for events about no model (<c>ping</c>).</param>
/// <param name="Actor">Who caused it, as the audit log names actors (<c>ActorClaims.ActorOf(user)</c>, <c>system:rollout</c>).</param>
/// <param name="Data">
/// The envelope's <c>data</c>: any object that serialises (snake_case, like the rest of the control plane) to a JSON
/// object, e.g. a decision's evidence per arm. Null gives <c>{}</c>.
/// </param>
internal sealed record NotificationEvent(string Type, string? Model, string Actor, object? Data = null)
{
    /// <summary>Unique per event (UUIDv7, so time-ordered); every webhook's delivery of the event carries it.</summary>
    public Guid Id { get; init; } = Guid.CreateVersion7();

    public DateTimeOffset OccurredAt { get; init; } = DateTimeOffset.UtcNow;
}
