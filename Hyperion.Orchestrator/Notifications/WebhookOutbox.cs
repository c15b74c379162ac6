using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Queues notifications for delivery to webhooks. Call it inside the transaction that makes the change, next to
/// the audit entry, so that the change, its audit entry and its notifications commit together or not at all:
/// <code>
/// await using var db = await Db.BeginAsync(dataSource, ct);
/// // ... the change ...
/// await AuditLog.AppendAsync(db, new AuditEntry(Actor: actor, Action: AuditAction.RolloutRolledBack, ...), ct);
/// await outbox.EnqueueAsync(db, new NotificationEvent(NotificationEventTypes.RolloutRolledBack, model, actor, evidence), ct);
/// await db.CommitAsync(ct);
/// </code>
/// One row per subscribed webhook is written to <c>webhook_outbox</c>; <see cref="WebhookDeliveryService"/> sends them
/// after the commit (woken by a NOTIFY that PostgreSQL only delivers on commit) and retries until they are received.
/// </summary>
internal sealed class WebhookOutbox(IOptions<WebhookOptions> options)
{
    /// <summary>The PostgreSQL channel that wakes delivery workers when rows are committed.</summary>
    public const string Channel = "hyperion_webhook_outbox";

    /// <summary>Queues <paramref name="notification"/> for every webhook subscribed to its type; returns how many were queued (0 when none).</summary>
    /// <exception cref="ArgumentException">An unknown event type, <c>ping</c>, or data that is not a JSON object.</exception>
    public async Task<int> EnqueueAsync(Db db, NotificationEvent notification, CancellationToken cancellationToken)
    {
        if (!NotificationEventTypes.IsKnown(notification.Type))
        {
            throw new ArgumentException($"Unknown notification type '{notification.Type}': add it to {nameof(NotificationEventTypes)} so webhooks can subscribe to it.", nameof(notification));
        }
        if (notification.Type == NotificationEventTypes.Ping)
        {
            throw new ArgumentException("'ping' goes to one webhook on request (EnqueuePingAsync), not to subscribers.", nameof(notification));
        }
        var payload = Serialize(notification.Data);
        var webhooks = options.Value.Webhooks.Where(webhook => webhook.Subscribes(notification.Type)).Select(webhook => webhook.Name!).ToArray();
        if (webhooks.Length == 0)
        {
            return 0;
        }
        await InsertAsync(db, notification, payload, webhooks, cancellationToken);
        return webhooks.Length;
    }

    /// <summary>
    /// Queues <paramref name="notification"/> for a receiver that is not configured, a batch job's own
    /// <c>webhook_url</c>, signed with <paramref name="secret"/>; listed and retried as <see cref="JobWebhook"/>.
    /// </summary>
    public async Task EnqueueToAsync(Db db, NotificationEvent notification, string url, string secret, CancellationToken cancellationToken)
    {
        if (!NotificationEventTypes.IsKnown(notification.Type) || notification.Type == NotificationEventTypes.Ping)
        {
            throw new ArgumentException($"'{notification.Type}' is not an event type a receiver can be sent.", nameof(notification));
        }
        await InsertAsync(db, notification, Serialize(notification.Data), [JobWebhook], cancellationToken, url, secret);
    }

    /// <summary>The webhook name a job's own deliveries are listed under (in the deliveries API, logs and metrics).</summary>
    public const string JobWebhook = "job";

    /// <summary>Queues a <c>ping</c> to one configured webhook, like GitHub's: returns the event's and the delivery's ids.</summary>
    public async Task<(Guid EventId, Guid DeliveryId)> EnqueuePingAsync(
        Db db, WebhookEndpointOptions webhook, string actor, CancellationToken cancellationToken)
    {
        var ping = new NotificationEvent(NotificationEventTypes.Ping, null, actor, new PingData(webhook.Name!, webhook.Events.Count == 0 ? ["*"] : [.. webhook.Events]));
        var ids = await InsertAsync(db, ping, Serialize(ping.Data), [webhook.Name!], cancellationToken);
        return (ping.Id, ids[0]);
    }

    private static string Serialize(object? data)
    {
        if (data is null)
        {
            return "{}";
        }
        var json = JsonSerializer.Serialize(data, ControlPlaneJson.Options);
        if (!json.StartsWith('{'))
        {
            throw new ArgumentException($"A notification's data must serialise to a JSON object (the envelope's \"data\"), not {json[..Math.Min(json.Length, 20)]}.", nameof(data));
        }
        return json;
    }

    private static async Task<Guid[]> InsertAsync(
        Db db, NotificationEvent notification, string payload, string[] webhooks, CancellationToken cancellationToken, string? url = null, string? secret = null)
    {
        var ids = new Guid[webhooks.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = Guid.CreateVersion7();
        }
        // One statement: the rows, and a notice that PostgreSQL holds back until the transaction commits.
        await using var command = db.Command($"""
            WITH queued AS (
                INSERT INTO webhook_outbox (id, event_id, event_type, webhook, model, actor, occurred_at, payload, url, secret)
                SELECT d.id, @event_id, @event_type, d.webhook, @model, @actor, @occurred_at, @payload, @url, @secret
                FROM unnest(@ids::uuid[], @webhooks::text[]) AS d(id, webhook)
                RETURNING 1
            )
            SELECT pg_notify('{Channel}', count(*)::text) FROM queued
            """);
        command.Bind("event_id", notification.Id);
        command.Bind("event_type", notification.Type);
        command.Bind("model", notification.Model);
        command.Bind("actor", notification.Actor);
        command.Bind("occurred_at", notification.OccurredAt.ToUniversalTime());
        command.BindJsonText("payload", payload);
        command.Bind("ids", ids);
        command.Bind("webhooks", webhooks);
        command.Bind("url", url);
        command.Bind("secret", secret);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ids;
    }

    private sealed record PingData(string Webhook, string[] Events);
}
