using System.Text.Json;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>What the deliveries API reads and changes in <c>webhook_outbox</c>.</summary>
internal sealed class WebhookDeliveryQueries(NpgsqlDataSource dataSource, IOptions<WebhookOptions> options)
{
    private const string Columns = """
        id, webhook, event_id, event_type, model, actor, occurred_at,
        CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN dead THEN 'failed' ELSE 'pending' END,
        attempts, created_at, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at, payload::text
        """;

    /// <summary>Newest first; ids are UUIDv7, so <paramref name="before"/> (an id) pages back in time.</summary>
    public async Task<IReadOnlyList<WebhookDeliveryView>> ListAsync(DeliveryFilter filter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns}
            FROM webhook_outbox
            WHERE (@state::text IS NULL OR (@state = 'delivered' AND delivered_at IS NOT NULL) OR (@state = 'failed' AND dead)
                                        OR (@state = 'pending' AND delivered_at IS NULL AND NOT dead))
              AND (@webhook::text IS NULL OR webhook = @webhook)
              AND (@event_id::uuid IS NULL OR event_id = @event_id)
              AND (@model::text IS NULL OR model = @model)
              AND (@before::uuid IS NULL OR id < @before)
            ORDER BY id DESC
            LIMIT @limit
            """);
        command.Bind("state", filter.State);
        command.Bind("webhook", filter.Webhook);
        command.Bind("event_id", filter.EventId);
        command.Bind("model", filter.Model);
        command.Bind("before", filter.Before);
        command.Bind("limit", filter.Limit);
        return await command.ReadAllAsync(reader => Read(reader), cancellationToken);
    }

    public async Task<WebhookDeliveryView?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM webhook_outbox WHERE id = @id");
        command.Bind("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// Queues a failed delivery again with a fresh set of attempts, audited. Returns the delivery as it now is, or
    /// why it cannot be retried (null view and a reason); a view and reason both null: no such delivery.
    /// </summary>
    public async Task<(WebhookDeliveryView? Delivery, string? Refusal)> RetryAsync(Guid id, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        WebhookDeliveryView? current;
        // Waits for a worker that is sending it right now, so the state read is the state changed.
        await using (var select = db.Command($"SELECT {Columns} FROM webhook_outbox WHERE id = @id FOR UPDATE"))
        {
            select.Bind("id", id);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            current = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }
        if (current is null)
        {
            return (null, null);
        }
        var refusal = current.State switch
        {
            WebhookDeliveryState.Delivered => $"delivery {id} was delivered at {current.DeliveredAt:O}; only failed deliveries can be retried.",
            WebhookDeliveryState.Pending => $"delivery {id} is still pending (attempt {current.Attempts} of {current.MaxAttempts?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} made, next at {current.NextAttemptAt:O}); only failed deliveries (state=failed) can be retried.",
            _ when current.MaxAttempts is null => $"webhook '{current.Webhook}' of delivery {id} is no longer configured ({WebhookOptions.WebhooksSection}); configure it again to retry.",
            _ => null,
        };
        if (refusal is not null)
        {
            return (null, refusal);
        }

        await using (var update = db.Command($"""
            WITH requeued AS (
                UPDATE webhook_outbox SET dead = false, attempts = 0, next_attempt_at = now() WHERE id = @id RETURNING 1
            )
            SELECT pg_notify('{WebhookOutbox.Channel}', count(*)::text) FROM requeued
            """))
        {
            update.Bind("id", id);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.WebhookDeliveryRetried,
            Model: current.Model,
            Target: $"delivery {id}",
            Before: new { state = current.State, attempts = current.Attempts, last_status = current.LastStatus, last_error = current.LastError },
            After: new { state = WebhookDeliveryState.Pending, attempts = 0 },
            Details: new { webhook = current.Webhook, event_id = current.EventId, event_type = current.EventType }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken), null);
    }

    private WebhookDeliveryView Read(NpgsqlDataReader reader)
    {
        var webhook = reader.GetString(1);
        var state = StoredNames<WebhookDeliveryState>.Parse(reader.GetString(7), "the delivery state");
        using var data = JsonDocument.Parse(reader.GetString(15));
        return new WebhookDeliveryView(
            Id: reader.GetGuid(0),
            Webhook: webhook,
            EventId: reader.GetGuid(2),
            EventType: reader.GetString(3),
            Model: reader.IsDBNull(4) ? null : reader.GetString(4),
            Actor: reader.GetString(5),
            OccurredAt: reader.GetDateTime(6),
            State: state,
            Attempts: reader.GetInt32(8),
            MaxAttempts: options.Value.Find(webhook) is { } configured ? options.Value.MaxAttemptsOf(configured) : null,
            CreatedAt: reader.GetDateTime(9),
            NextAttemptAt: state == WebhookDeliveryState.Pending ? reader.GetDateTime(10) : null,
            LastAttemptAt: reader.IsDBNull(11) ? null : reader.GetDateTime(11),
            LastStatus: reader.IsDBNull(12) ? null : reader.GetInt32(12),
            LastError: reader.IsDBNull(13) ? null : reader.GetString(13),
            DeliveredAt: reader.IsDBNull(14) ? null : reader.GetDateTime(14),
            Data: data.RootElement.Clone());
    }
}

/// <summary>The deliveries API's query: every field optional but <see cref="Limit"/>.</summary>
internal sealed record DeliveryFilter(string? State, string? Webhook, Guid? EventId, string? Model, Guid? Before, int Limit);
