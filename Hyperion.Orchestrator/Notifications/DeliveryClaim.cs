using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// One due delivery, locked (<c>FOR UPDATE SKIP LOCKED</c>) by an open transaction for as long as it is being sent:
/// other workers and replicas skip it, and if this process dies the transaction ends and the row is due again.
/// Disposing without <see cref="CommitAsync"/> rolls back, which leaves the row as it was (the attempt is not counted).
/// </summary>
internal sealed class DeliveryClaim : IAsyncDisposable
{
    private readonly Db _db;

    private DeliveryClaim(Db db, OutboxRow row)
    {
        _db = db;
        Row = row;
    }

    public OutboxRow Row { get; }

    /// <summary>The most overdue delivery to one of <paramref name="webhooks"/> or to a job's own URL, or null when none is due.</summary>
    public static async Task<DeliveryClaim?> TryClaimAsync(NpgsqlDataSource dataSource, string[] webhooks, CancellationToken cancellationToken)
    {
        var db = await Db.BeginAsync(dataSource, cancellationToken);
        try
        {
            await using var command = db.Command("""
                SELECT id, event_id, event_type, webhook, model, actor, occurred_at, payload::text, attempts, url, secret
                FROM webhook_outbox
                WHERE delivered_at IS NULL AND NOT dead AND next_attempt_at <= now() AND (webhook = ANY(@webhooks) OR url IS NOT NULL)
                ORDER BY next_attempt_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED
                """);
            command.Bind("webhooks", webhooks);
            OutboxRow? row = null;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    row = new OutboxRow(
                        Id: reader.GetGuid(0),
                        EventId: reader.GetGuid(1),
                        EventType: reader.GetString(2),
                        Webhook: reader.GetString(3),
                        Model: reader.IsDBNull(4) ? null : reader.GetString(4),
                        Actor: reader.GetString(5),
                        OccurredAt: reader.GetDateTime(6),
                        Payload: reader.GetString(7),
                        Attempts: reader.GetInt32(8),
                        Url: reader.IsDBNull(9) ? null : reader.GetString(9),
                        Secret: reader.IsDBNull(10) ? null : reader.GetString(10));
                }
            }
            if (row is null)
            {
                await db.DisposeAsync();
                return null;
            }
            return new DeliveryClaim(db, row);
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>Records a 2xx; returns how long the event waited from its commit to now.</summary>
    public async Task<TimeSpan> MarkDeliveredAsync(int status, CancellationToken cancellationToken)
    {
        await using var command = _db.Command("""
            UPDATE webhook_outbox
            SET attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_status = @status, last_error = NULL, delivered_at = clock_timestamp()
            WHERE id = @id
            RETURNING extract(epoch FROM delivered_at - created_at)::double precision
            """);
        command.Bind("id", Row.Id);
        command.Bind("status", status);
        var seconds = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }

    /// <summary>Records a failed attempt: due again after <paramref name="retryAfter"/>, or given up.</summary>
    public async Task MarkFailedAsync(int? status, string error, TimeSpan retryAfter, bool giveUp, CancellationToken cancellationToken)
    {
        await using var command = _db.Command("""
            UPDATE webhook_outbox
            SET attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_status = @status, last_error = @error,
                next_attempt_at = clock_timestamp() + make_interval(secs => @retry_after_seconds), dead = @dead
            WHERE id = @id
            """);
        command.Bind("id", Row.Id);
        command.Bind("status", status);
        command.Bind("error", error);
        command.Bind("retry_after_seconds", retryAfter.TotalSeconds);
        command.Bind("dead", giveUp);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task CommitAsync(CancellationToken cancellationToken) => _db.CommitAsync(cancellationToken);

    public ValueTask DisposeAsync() => _db.DisposeAsync();
}
