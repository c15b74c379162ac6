using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// Sends what <see cref="WebhookOutbox"/> queued. <c>Concurrency</c> workers each claim one due row at a time
/// (<see cref="DeliveryClaim"/>), POST it, and record the outcome in the same transaction: delivered on 2xx,
/// otherwise due again after an exponential back-off with full jitter, or given up after the last allowed attempt.
/// Idle workers wake on PostgreSQL NOTIFY (sent by the enqueueing transaction at commit), at the next due retry,
/// or every <c>PollIntervalSeconds</c>. Rows live in the database, so a restart loses nothing: delivery is at least
/// once, and receivers de-duplicate on the event id.
/// </summary>
internal sealed partial class WebhookDeliveryService(
    NpgsqlDataSource dataSource,
    IOptions<WebhookOptions> options,
    WebhookSender sender,
    WebhookMetrics metrics,
    ILogger<WebhookDeliveryService> logger) : BackgroundService
{
    private static readonly TimeSpan ListenCheckInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    private readonly WakeSignal _wake = new();
    private DateTime _nextPrune = DateTime.MinValue;

    private WebhookDeliveryOptions Delivery => options.Value.Delivery;

    private TimeSpan PollInterval => TimeSpan.FromSeconds(Delivery.PollIntervalSeconds);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var names = options.Value.Webhooks.Select(webhook => webhook.Name!).ToArray();
        if (names.Length == 0)
        {
            // Still delivering: a batch job's own webhook_url needs no configured webhook.
            LogNoWebhooks(logger);
        }
        LogStarted(logger, names.Length, string.Join(", ", names), Delivery.Concurrency);
        var loops = new List<Task>(Delivery.Concurrency + 1) { ListenAsync(stoppingToken) };
        for (var worker = 0; worker < Delivery.Concurrency; worker++)
        {
            loops.Add(WorkAsync(worker, names, stoppingToken));
        }
        return Task.WhenAll(loops);
    }

    private async Task WorkAsync(int worker, string[] names, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var woken = _wake.Current;
            TimeSpan idle;
            try
            {
                if (await TryDeliverOneAsync(names, stopping))
                {
                    continue;
                }
                idle = await UntilNextDueAsync(names, stopping);
                if (worker == 0)
                {
                    await PruneWhenDueAsync(stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database is down or restarting: try again later; the rows are safe where they are.
                LogWorkerFailed(logger, ex, worker);
                idle = PollInterval;
            }
            // Never throws: a cancelled delay just ends the wait, and the loop sees the stop.
            await Task.WhenAny(woken, Task.Delay(idle, stopping));
        }
    }

    /// <summary>Claims and sends one due delivery; false when none is due.</summary>
    private async Task<bool> TryDeliverOneAsync(string[] names, CancellationToken stopping)
    {
        await using var claim = await DeliveryClaim.TryClaimAsync(dataSource, names, stopping);
        if (claim is null)
        {
            return false;
        }
        var row = claim.Row;
        var webhook = row.ReceiverIn(options.Value)!;
        var attempt = row.Attempts + 1;
        var body = WebhookEnvelope.Write(row.EventId, row.EventType, row.Model, row.OccurredAt, row.Actor, row.Payload);
        var result = await sender.SendAsync(webhook, row, body, attempt, stopping);

        // Once an attempt is made, record it even while shutting down: a delivered event must not be sent again.
        if (result.Delivered)
        {
            var lag = await claim.MarkDeliveredAsync(result.Status!.Value, CancellationToken.None);
            await claim.CommitAsync(CancellationToken.None);
            metrics.RecordAttempt(row.Webhook, WebhookMetrics.Delivered, result.Duration);
            metrics.RecordDelivered(row.Webhook, lag);
            LogDelivered(logger, row.EventType, row.EventId, row.Webhook, attempt, result.Status.Value);
            return true;
        }

        var maxAttempts = options.Value.MaxAttemptsOf(webhook);
        var giveUp = attempt >= maxAttempts;
        var retryAfter = giveUp ? TimeSpan.Zero : WebhookBackoff.Delay(attempt, Delivery.BaseDelaySeconds, Delivery.MaxDelaySeconds, Random.Shared);
        await claim.MarkFailedAsync(result.Status, result.Error!, retryAfter, giveUp, CancellationToken.None);
        await claim.CommitAsync(CancellationToken.None);
        metrics.RecordAttempt(row.Webhook, giveUp ? WebhookMetrics.Dead : WebhookMetrics.Failed, result.Duration);
        if (giveUp)
        {
            LogGaveUp(logger, row.Id, row.EventType, row.Webhook, attempt, result.Error!);
        }
        else
        {
            LogFailed(logger, row.Id, row.EventType, row.Webhook, attempt, maxAttempts, result.Error!, retryAfter.TotalSeconds);
            // The retry may be due before the other idle workers' next look.
            _wake.Pulse();
        }
        return true;
    }

    /// <summary>How long until the next pending delivery is due, at most the poll interval.</summary>
    private async Task<TimeSpan> UntilNextDueAsync(string[] names, CancellationToken cancellationToken)
    {
        // SKIP LOCKED: a delivery that another worker is sending right now is due but not ours to wait for;
        // counting it would spin the idle workers for as long as that attempt takes.
        await using var command = dataSource.CreateCommand("""
            SELECT extract(epoch FROM next_attempt_at - now())::double precision
            FROM webhook_outbox
            WHERE delivered_at IS NULL AND NOT dead AND (webhook = ANY(@webhooks) OR url IS NOT NULL)
            ORDER BY next_attempt_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED
            """);
        command.Bind("webhooks", names);
        var seconds = await command.ExecuteScalarAsync(cancellationToken) as double?;
        return seconds is { } due ? TimeSpan.FromSeconds(Math.Clamp(due, 0.01, Delivery.PollIntervalSeconds)) : PollInterval;
    }

    private async Task PruneWhenDueAsync(CancellationToken cancellationToken)
    {
        if (Delivery.RetentionDays == 0 || DateTime.UtcNow < _nextPrune)
        {
            return;
        }
        _nextPrune = DateTime.UtcNow + PruneInterval;
        await using var command = dataSource.CreateCommand("""
            DELETE FROM webhook_outbox
            WHERE (delivered_at < now() - make_interval(days => @retention_days)) OR (dead AND last_attempt_at < now() - make_interval(days => @retention_days))
            """);
        command.Bind("retention_days", Delivery.RetentionDays);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        if (deleted > 0)
        {
            LogPruned(logger, deleted, Delivery.RetentionDays);
        }
    }

    /// <summary>LISTENs on <see cref="WebhookOutbox.Channel"/> and wakes the workers on each notice; reconnects when the connection drops.</summary>
    private async Task ListenAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var db = await Db.OpenAsync(dataSource, stopping);
                db.Connection.Notification += (_, _) => _wake.Pulse();
                await using (var listen = db.Command($"LISTEN {WebhookOutbox.Channel}"))
                {
                    await listen.ExecuteNonQueryAsync(stopping);
                }
                // Rows committed while nobody listened.
                _wake.Pulse();
                while (true)
                {
                    if (!await db.Connection.WaitAsync(ListenCheckInterval, stopping))
                    {
                        // A connection that died without a word only shows when used.
                        await using var check = db.Command("SELECT 1");
                        await check.ExecuteScalarAsync(stopping);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenFailed(logger, ex, Delivery.PollIntervalSeconds);
                try
                {
                    await Task.Delay(PollInterval, stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No webhooks configured (Orchestrator:Webhooks): only batch jobs' own webhook_url deliveries are sent")]
    private static partial void LogNoWebhooks(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery started: {Count} webhooks ({Names}), {Workers} workers")]
    private static partial void LogStarted(ILogger logger, int count, string names, int workers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered {EventType} event {EventId} to webhook {Webhook} (attempt {Attempt}, HTTP {Status})")]
    private static partial void LogDelivered(ILogger logger, string eventType, Guid eventId, string webhook, int attempt, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} of {EventType} to webhook {Webhook} failed (attempt {Attempt} of {MaxAttempts}): {Error}; next attempt in {RetrySeconds:0.0} s")]
    private static partial void LogFailed(ILogger logger, Guid deliveryId, string eventType, string webhook, int attempt, int maxAttempts, string error, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up delivery {DeliveryId} of {EventType} to webhook {Webhook} after {Attempts} attempts: {Error}. It is listed under state=failed in the deliveries API, whose retry queues it again")]
    private static partial void LogGaveUp(ILogger logger, Guid deliveryId, string eventType, string webhook, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery worker {Worker} failed; it tries again shortly")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception, int worker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for new webhook deliveries failed; polling every {PollSeconds} s until it reconnects")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, double pollSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} webhook deliveries older than {Days} days")]
    private static partial void LogPruned(ILogger logger, int count, int days);
}
