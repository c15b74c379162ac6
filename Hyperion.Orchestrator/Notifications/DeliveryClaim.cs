using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// One due delivery, locked (<c>FOR UPDATE SKIP LOCKED</c>) by an open transaction for as long as it is being sent:
/// other workers and replicas skip it, and if this process dies the transaction ends and the row is due again.
/// Disposing without <see cref="CommitAsync"/> rolls back, which leaves the row as it was (the attempt is not counted).
/// </summary>
internal sealed class DeliveryClaim : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private DeliveryClaim(NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxRow row)
    {
        _connection = connection;
        _transaction = transaction;
        Row = row;
    }

    public OutboxRow Row { get; }

    /// <summary>The most overdue delivery to one of <paramref name="webhooks"/>, or null when none is due.</summary>
    public static async Task<DeliveryClaim?> TryClaimAsync(NpgsqlDataSource dataSource, string[] webhooks, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("""
                SELECT id, event_id, event_type, webhook, model, actor, occurred_at, payload::text, attempts
                FROM webhook_outbox
                WHERE delivered_at IS NULL AND NOT dead AND next_attempt_at <= now() AND webhook = ANY($1)
                ORDER BY next_attempt_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = webhooks, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            OutboxRow? row = null;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    row = new OutboxRow(
                        reader.GetGuid(0),
                        reader.GetGuid(1),
                        reader.GetString(2),
                        reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4),
                        reader.GetString(5),
                        reader.GetDateTime(6),
                        reader.GetString(7),
                        reader.GetInt32(8));
                }
            }
            if (row is null)
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
                return null;
            }
            return new DeliveryClaim(connection, transaction, row);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Records a 2xx; returns how long the event waited from its commit to now.</summary>
    public async Task<TimeSpan> MarkDeliveredAsync(int status, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE webhook_outbox
            SET attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_status = $2, last_error = NULL, delivered_at = clock_timestamp()
            WHERE id = $1
            RETURNING extract(epoch FROM delivered_at - created_at)::double precision
            """, _connection, _transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = Row.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        var seconds = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }

    /// <summary>Records a failed attempt: due again after <paramref name="retryAfter"/>, or given up.</summary>
    public async Task MarkFailedAsync(int? status, string error, TimeSpan retryAfter, bool giveUp, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE webhook_outbox
            SET attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_status = $2, last_error = $3,
                next_attempt_at = clock_timestamp() + make_interval(secs => $4), dead = $5
            WHERE id = $1
            """, _connection, _transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = Row.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = error });
        command.Parameters.Add(new NpgsqlParameter { Value = retryAfter.TotalSeconds });
        command.Parameters.Add(new NpgsqlParameter { Value = giveUp });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task CommitAsync(CancellationToken cancellationToken) => _transaction.CommitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
