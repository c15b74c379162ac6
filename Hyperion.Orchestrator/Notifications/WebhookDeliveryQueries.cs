using System.Text.Json;
using Hyperion.Orchestrator.Audit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

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
            WHERE ($1::text IS NULL OR ($1 = 'delivered' AND delivered_at IS NOT NULL) OR ($1 = 'failed' AND dead)
                                    OR ($1 = 'pending' AND delivered_at IS NULL AND NOT dead))
              AND ($2::text IS NULL OR webhook = $2)
              AND ($3::uuid IS NULL OR event_id = $3)
              AND ($4::text IS NULL OR model = $4)
              AND ($5::uuid IS NULL OR id < $5)
            ORDER BY id DESC
            LIMIT $6
            """);
        command.Parameters.Add(Text(filter.State));
        command.Parameters.Add(Text(filter.Webhook));
        command.Parameters.Add(Uuid(filter.EventId));
        command.Parameters.Add(Text(filter.Model));
        command.Parameters.Add(Uuid(filter.Before));
        command.Parameters.Add(new NpgsqlParameter { Value = filter.Limit });
        var deliveries = new List<WebhookDeliveryView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            deliveries.Add(Read(reader));
        }
        return deliveries;
    }

    public async Task<WebhookDeliveryView?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM webhook_outbox WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// Queues a failed delivery again with a fresh set of attempts, audited. Returns the delivery as it now is, or
    /// why it cannot be retried (null view and a reason); a view and reason both null: no such delivery.
    /// </summary>
    public async Task<(WebhookDeliveryView? Delivery, string? Refusal)> RetryAsync(Guid id, string actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        WebhookDeliveryView? current;
        // Waits for a worker that is sending it right now, so the state read is the state changed.
        await using (var select = new NpgsqlCommand($"SELECT {Columns} FROM webhook_outbox WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = id });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            current = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }
        if (current is null)
        {
            return (null, null);
        }
        var refusal = current.State switch
        {
            WebhookDeliveryStates.Delivered => $"delivery {id} was delivered at {current.DeliveredAt:O}; only failed deliveries can be retried.",
            WebhookDeliveryStates.Pending => $"delivery {id} is still pending (attempt {current.Attempts} of {current.MaxAttempts?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} made, next at {current.NextAttemptAt:O}); only failed deliveries (state=failed) can be retried.",
            _ when current.MaxAttempts is null => $"webhook '{current.Webhook}' of delivery {id} is no longer configured ({WebhookOptions.WebhooksSection}); configure it again to retry.",
            _ => null,
        };
        if (refusal is not null)
        {
            return (null, refusal);
        }

        await using (var update = new NpgsqlCommand($"""
            WITH requeued AS (
                UPDATE webhook_outbox SET dead = false, attempts = 0, next_attempt_at = now() WHERE id = $1 RETURNING 1
            )
            SELECT pg_notify('{WebhookOutbox.Channel}', count(*)::text) FROM requeued
            """, connection, transaction))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = id });
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(connection, transaction, new AuditEntry(
            actor,
            "webhook.delivery_retried",
            current.Model,
            $"delivery {id}",
            Before: new { state = current.State, attempts = current.Attempts, last_status = current.LastStatus, last_error = current.LastError },
            After: new { state = WebhookDeliveryStates.Pending, attempts = 0 },
            Details: new { webhook = current.Webhook, event_id = current.EventId, event_type = current.EventType }), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken), null);
    }

    private WebhookDeliveryView Read(NpgsqlDataReader reader)
    {
        var webhook = reader.GetString(1);
        var state = reader.GetString(7);
        using var data = JsonDocument.Parse(reader.GetString(15));
        return new WebhookDeliveryView(
            reader.GetGuid(0),
            webhook,
            reader.GetGuid(2),
            reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.GetString(5),
            reader.GetDateTime(6),
            state,
            reader.GetInt32(8),
            options.Value.Find(webhook) is { } configured ? options.Value.MaxAttemptsOf(configured) : null,
            reader.GetDateTime(9),
            state == WebhookDeliveryStates.Pending ? reader.GetDateTime(10) : null,
            reader.IsDBNull(11) ? null : reader.GetDateTime(11),
            reader.IsDBNull(12) ? null : reader.GetInt32(12),
            reader.IsDBNull(13) ? null : reader.GetString(13),
            reader.IsDBNull(14) ? null : reader.GetDateTime(14),
            data.RootElement.Clone());
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Uuid(Guid? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid };
}

/// <summary>The deliveries API's query: every field optional but <see cref="Limit"/>.</summary>
internal sealed record DeliveryFilter(string? State, string? Webhook, Guid? EventId, string? Model, Guid? Before, int Limit);
