using System.Text.Json;
using Hyperion.Orchestrator.Persistence;

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
    WebhookDeliveryState State,
    int Attempts,
    int? MaxAttempts,
    DateTime CreatedAt,
    DateTime? NextAttemptAt,
    DateTime? LastAttemptAt,
    int? LastStatus,
    string? LastError,
    DateTime? DeliveredAt,
    JsonElement Data);

/// <summary>Where a delivery is; <c>pending</c>, <c>failed</c> or <c>delivered</c> in JSON and in the deliveries filter.</summary>
internal enum WebhookDeliveryState
{
    /// <summary>Queued or retrying.</summary>
    Pending,

    /// <summary>Given up after the last allowed attempt.</summary>
    Failed,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered,
}

/// <summary>The names of <see cref="WebhookDeliveryState"/>, as the deliveries query computes them and the API filters by them.</summary>
internal static class WebhookDeliveryStates
{
    public const string Pending = "pending";
    public const string Failed = "failed";
    public const string Delivered = "delivered";

    public static IReadOnlyList<string> All => StoredNames<WebhookDeliveryState>.All;
}
