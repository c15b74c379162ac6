namespace Hyperion.Orchestrator.Notifications;

/// <summary>A claimed <c>webhook_outbox</c> row: what one delivery sends.</summary>
/// <param name="Url">The receiver when it is not a configured webhook (a job's <c>webhook_url</c>), with the <paramref name="Secret"/> that signs for it.</param>
internal sealed record OutboxRow(
    Guid Id,
    Guid EventId,
    string EventType,
    string Webhook,
    string? Model,
    string Actor,
    DateTime OccurredAt,
    string Payload,
    int Attempts,
    string? Url = null,
    string? Secret = null)
{
    /// <summary>Where this delivery goes: the configured webhook it names, or its own URL.</summary>
    public WebhookEndpointOptions? ReceiverIn(WebhookOptions options) =>
        Url is null ? options.Find(Webhook) : new WebhookEndpointOptions { Name = Webhook, Url = Url, Secret = Secret };

    public override string ToString() => $"OutboxRow {{ Id = {Id}, EventType = {EventType}, Webhook = {Webhook} }}";
}
