using System.Text.Json;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>One delivery as the deliveries API shows it (snake_case; nulls left out).</summary>
/// <param name="State"><c>pending</c> (queued or retrying), <c>failed</c> (given up) or <c>delivered</c>.</param>
/// <param name="MaxAttempts">The webhook's attempt limit; absent when the webhook is no longer configured.</param>
/// <param name="NextAttemptAt">When the next attempt is due (pending deliveries only).</param>
/// <param name="LastStatus">The receiver's HTTP status at the last attempt; absent when it did not answer.</param>
internal sealed record WebhookDeliveryView(
    Guid Id,
    string Webhook,
    Guid EventId,
    string EventType,
    string? Model,
    string Actor,
    DateTime OccurredAt,
    string State,
    int Attempts,
    int? MaxAttempts,
    DateTime CreatedAt,
    DateTime? NextAttemptAt,
    DateTime? LastAttemptAt,
    int? LastStatus,
    string? LastError,
    DateTime? DeliveredAt,
    JsonElement Data);

/// <summary>The states a delivery is listed under.</summary>
internal static class WebhookDeliveryStates
{
    public const string Pending = "pending";
    public const string Failed = "failed";
    public const string Delivered = "delivered";

    public static IReadOnlyList<string> All { get; } = [Pending, Failed, Delivered];
}
