namespace Hyperion.Orchestrator.Notifications;

/// <summary>A claimed <c>webhook_outbox</c> row: what one delivery sends.</summary>
internal sealed record OutboxRow(
    Guid Id,
    Guid EventId,
    string EventType,
    string Webhook,
    string? Model,
    string Actor,
    DateTime OccurredAt,
    string Payload,
    int Attempts);
