using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using static Hyperion.Tests.ControlPlane.WebhookAppFixture;

namespace Hyperion.Tests.ControlPlane;

/// <summary>
/// Webhooks end to end on the real graph: the orchestrator delivers to a real HTTP receiver started by the fixture,
/// through the outbox in the graph's PostgreSQL.
/// </summary>
[Collection(WebhookAppCollection.Name)]
public sealed class WebhookDeliveryTests(WebhookAppFixture hyperion)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_ping_is_signed_with_the_webhook_secret_over_timestamp_and_body()
    {
        using var client = hyperion.CreateApiClient();
        var (eventId, deliveryId) = await PingAsync(client, Ops);

        var request = (await hyperion.Receiver.WaitForAsync(r => r.Any(x => x.EventId == eventId.ToString()), Soon, $"ping {eventId}"))
            .Single(r => r.EventId == eventId.ToString());

        var timestamp = request.Header("X-Hyperion-Timestamp")!;
        var signature = request.Header("X-Hyperion-Signature")!;
        Assert.StartsWith("sha256=", signature);
        Assert.Equal(Sign(SecretOf(Ops), timestamp, request.Body), signature);
        Assert.NotEqual(Sign(SecretOf(Flaky), timestamp, request.Body), signature);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture), -5, 300);

        Assert.Equal("ping", request.Header("X-Hyperion-Event"));
        Assert.Equal("1", request.Header("X-Hyperion-Delivery"));
        Assert.Equal(deliveryId.ToString(), request.Header("X-Hyperion-Delivery-Id"));
        Assert.Equal("application/json", request.Header("Content-Type"));
        Assert.StartsWith("Hyperion-Webhooks/", request.Header("User-Agent"));

        using var envelope = JsonDocument.Parse(request.Body);
        var root = envelope.RootElement;
        Assert.Equal(["id", "type", "model", "occurred_at", "actor", "data"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(eventId, root.GetProperty("id").GetGuid());
        Assert.Equal("ping", root.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("model").ValueKind);
        Assert.StartsWith("key:bootstrap-admin", root.GetProperty("actor").GetString());
        Assert.InRange(root.GetProperty("occurred_at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
        Assert.Equal(Ops, root.GetProperty("data").GetProperty("webhook").GetString());

        var delivery = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("state").GetString() == "delivered", "delivered");
        Assert.Equal(1, delivery.GetProperty("attempts").GetInt32());
        Assert.Equal(200, delivery.GetProperty("last_status").GetInt32());
    }

    [Fact]
    public async Task Failed_attempts_are_retried_with_back_off_until_the_receiver_answers_2xx()
    {
        hyperion.Receiver.Answer(PathOf(Flaky), 500, 503);
        using var client = hyperion.CreateApiClient();
        var (eventId, deliveryId) = await PingAsync(client, Flaky);

        var delivery = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("state").GetString() == "delivered", "delivered");
        Assert.Equal(3, delivery.GetProperty("attempts").GetInt32());
        Assert.False(delivery.TryGetProperty("last_error", out _), "a delivered delivery carries no error");

        var attempts = hyperion.Receiver.ReceivedOn(PathOf(Flaky)).Where(r => r.EventId == eventId.ToString()).ToArray();
        Assert.Equal([500, 503, 200], attempts.Select(a => a.AnsweredWith));
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Header("X-Hyperion-Delivery")));
        // Every attempt carries the very same body (and so the same event), signed afresh.
        Assert.All(attempts, a => Assert.Equal(attempts[0].Body, a.Body));
        Assert.All(attempts, a => Assert.Equal(Sign(SecretOf(Flaky), a.Header("X-Hyperion-Timestamp")!, a.Body), a.Header("X-Hyperion-Signature")));
        // Back-off waits at most 0.2 s, then 0.4 s here; a retry is sent when due, not at the next (30 s) poll.
        Assert.InRange((attempts[1].At - attempts[0].At).TotalSeconds, 0, 10);
        Assert.InRange((attempts[2].At - attempts[1].At).TotalSeconds, 0, 10);

        await WaitForMetricAsync(Flaky, "failed", 2);
        await WaitForMetricAsync(Flaky, "delivered", 1);
    }

    [Fact]
    public async Task A_delivery_is_given_up_after_max_attempts_listed_as_failed_and_retry_queues_it_again()
    {
        using var client = hyperion.CreateApiClient();
        var (eventId, deliveryId) = await PingAsync(client, Dead);

        var failed = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("state").GetString() == "failed", "failed");
        Assert.Equal(DeadMaxAttempts, failed.GetProperty("attempts").GetInt32());
        Assert.Equal(DeadMaxAttempts, failed.GetProperty("max_attempts").GetInt32());
        Assert.Equal(500, failed.GetProperty("last_status").GetInt32());
        Assert.Contains("HTTP 500", failed.GetProperty("last_error").GetString());
        Assert.Contains("boom", failed.GetProperty("last_error").GetString());
        Assert.Equal(DeadMaxAttempts, hyperion.Receiver.ReceivedOn(PathOf(Dead)).Count(r => r.EventId == eventId.ToString()));

        var listed = await GetJsonAsync(client, $"/api/v1/webhooks/deliveries?state=failed&webhook={Dead}");
        Assert.Contains(listed.GetProperty("deliveries").EnumerateArray(), d => d.GetProperty("id").GetGuid() == deliveryId);
        var pending = await GetJsonAsync(client, "/api/v1/webhooks/deliveries?state=pending");
        Assert.DoesNotContain(pending.GetProperty("deliveries").EnumerateArray(), d => d.GetProperty("id").GetGuid() == deliveryId);
        await WaitForMetricAsync(Dead, "dead", 1);

        // The receiver is fixed; an operator queues the delivery again.
        hyperion.Receiver.Answer(PathOf(Dead), 200);
        using (var retry = await client.PostAsync($"/api/v1/webhooks/deliveries/{deliveryId}/retry", null))
        {
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            using var body = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
            Assert.NotEqual("failed", body.RootElement.GetProperty("state").GetString());
        }
        var delivered = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("state").GetString() == "delivered", "delivered after the retry");
        Assert.Equal(1, delivered.GetProperty("attempts").GetInt32());
        var last = hyperion.Receiver.ReceivedOn(PathOf(Dead)).Where(r => r.EventId == eventId.ToString()).ToArray();
        Assert.Equal(DeadMaxAttempts + 1, last.Length);
        Assert.Equal(200, last[^1].AnsweredWith);
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM audit_log WHERE action = 'webhook.delivery_retried' AND target = $1", $"delivery {deliveryId}"));

        // Only failed deliveries are retried; the answer says why not.
        using var again = await client.PostAsync($"/api/v1/webhooks/deliveries/{deliveryId}/retry", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        Assert.Contains("was delivered", await again.Content.ReadAsStringAsync());
        using var unknown = await client.PostAsync($"/api/v1/webhooks/deliveries/{Guid.CreateVersion7()}/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Notifications_commit_with_the_callers_transaction_and_reach_only_subscribed_webhooks()
    {
        using var host = OutboxHost();
        var outbox = host.Services.GetRequiredService<WebhookOutbox>();
        await using var dataSource = NpgsqlDataSource.Create(hyperion.GetConnectionString("hyperion"));

        var rolledBack = new NotificationEvent(NotificationEventTypes.RolloutRolledBack, "digits", "system:test", new { Reason = "never committed" });
        await using (var db = await Db.BeginAsync(dataSource, CancellationToken.None))
        {
            Assert.Equal(1, await outbox.EnqueueAsync(db, rolledBack, CancellationToken.None));
            await db.Transaction!.RollbackAsync();
        }

        var evidence = new { Reason = "canary error rate 12% > stable 1% + 2%", Evidence = new { Stable = new { Requests = 400, ErrorRate = 0.01 }, Canary = new { Requests = 120, ErrorRate = 0.12 } } };
        var committed = new NotificationEvent(NotificationEventTypes.RolloutRolledBack, "digits", "system:rollout", evidence);
        await using (var db = await Db.BeginAsync(dataSource, CancellationToken.None))
        {
            await AuditLog.AppendAsync(
                db,
                new AuditEntry(Actor: "system:rollout", Action: AuditAction.RolloutRolledBack, Model: "digits", Target: "revision 2", Details: evidence),
                CancellationToken.None);
            Assert.Equal(1, await outbox.EnqueueAsync(db, committed, CancellationToken.None));
            await db.CommitAsync(CancellationToken.None);
        }

        // Well within the fixture's 30 s poll interval: the commit's NOTIFY woke the workers.
        var received = (await hyperion.Receiver.WaitForAsync(r => r.Any(x => x.EventId == committed.Id.ToString()), TimeSpan.FromSeconds(10), "the committed event"))
            .Single(r => r.EventId == committed.Id.ToString());
        Assert.Equal(PathOf(Ops), received.Path);
        Assert.Equal("rollout.rolled_back", received.Header("X-Hyperion-Event"));
        using var envelope = JsonDocument.Parse(received.Body);
        Assert.Equal("digits", envelope.RootElement.GetProperty("model").GetString());
        Assert.Equal("system:rollout", envelope.RootElement.GetProperty("actor").GetString());
        Assert.Equal(0.12, envelope.RootElement.GetProperty("data").GetProperty("evidence").GetProperty("canary").GetProperty("error_rate").GetDouble());

        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM webhook_outbox WHERE event_id = $1", committed.Id));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM webhook_outbox WHERE event_id = $1", rolledBack.Id));
        Assert.DoesNotContain(hyperion.Receiver.Received, r => r.EventId == rolledBack.Id.ToString());
    }

    [Fact]
    public async Task An_attempt_without_an_answer_within_the_timeout_fails()
    {
        using var client = hyperion.CreateApiClient();
        var (_, deliveryId) = await PingAsync(client, Slow);

        var failed = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("state").GetString() == "failed", "failed");
        Assert.Equal("no answer within 1 s (Orchestrator:Webhooks TimeoutSeconds)", failed.GetProperty("last_error").GetString());
        Assert.False(failed.TryGetProperty("last_status", out _), "no status: the receiver never answered");
    }

    [Fact]
    public async Task A_claimed_delivery_is_skipped_by_other_workers_and_released_when_its_transaction_ends()
    {
        // A webhook the orchestrator does not know: only this test's claims touch the row.
        var options = new WebhookOptions();
        options.Webhooks.Add(new WebhookEndpointOptions { Name = "elsewhere", Url = "http://127.0.0.1:9/", Secret = SecretOf("elsewhere") });
        var outbox = new WebhookOutbox(Microsoft.Extensions.Options.Options.Create(options));
        await using var dataSource = NpgsqlDataSource.Create(hyperion.GetConnectionString("hyperion"));
        var paused = new NotificationEvent(NotificationEventTypes.RolloutPaused, "digits", "system:test");
        await using (var db = await Db.BeginAsync(dataSource, CancellationToken.None))
        {
            Assert.Equal(1, await outbox.EnqueueAsync(db, paused, CancellationToken.None));
            await db.CommitAsync(CancellationToken.None);
        }
        string[] elsewhere = ["elsewhere"];
        try
        {
            await using (var first = await DeliveryClaim.TryClaimAsync(dataSource, elsewhere, CancellationToken.None))
            {
                Assert.NotNull(first);
                Assert.Equal(paused.Id, first.Row.EventId);
                // Another worker or replica, while the first holds it.
                Assert.Null(await DeliveryClaim.TryClaimAsync(dataSource, elsewhere, CancellationToken.None));
                // The first ends without committing, as when its process dies mid-send.
            }
            await using var again = await DeliveryClaim.TryClaimAsync(dataSource, elsewhere, CancellationToken.None);
            Assert.NotNull(again);
            Assert.Equal(0, again.Row.Attempts);
        }
        finally
        {
            await ScalarAsync("WITH gone AS (DELETE FROM webhook_outbox WHERE event_id = $1 RETURNING 1) SELECT count(*) FROM gone", paused.Id);
        }
    }

    [Fact]
    public async Task An_undelivered_notification_survives_an_orchestrator_restart_and_is_delivered_once()
    {
        Assert.False(hyperion.Restartable.IsRunning);
        Guid eventId, deliveryId;
        using (var client = hyperion.CreateApiClient())
        {
            (eventId, deliveryId) = await PingAsync(client, Restart);
            var failing = await WaitForDeliveryAsync(client, deliveryId, d => d.GetProperty("attempts").GetInt32() >= 1, "attempted while the receiver is down");
            Assert.Equal("pending", failing.GetProperty("state").GetString());
            Assert.Contains("request failed", failing.GetProperty("last_error").GetString());
        }

        await hyperion.StopAsync("orchestrator");
        await hyperion.Restartable.StartAgainAsync();
        await hyperion.StartAsync("orchestrator");
        await hyperion.WaitForHealthyAsync("orchestrator");

        await hyperion.Restartable.WaitForAsync(r => r.Any(x => x.EventId == eventId.ToString()), Soon, "the delivery after the restart");
        using var after = hyperion.CreateApiClient();
        var delivered = await WaitForDeliveryAsync(after, deliveryId, d => d.GetProperty("state").GetString() == "delivered", "delivered");
        // Some time for a duplicate to show, were there one.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var received = Assert.Single(hyperion.Restartable.Received, r => r.EventId == eventId.ToString());
        Assert.Equal(200, received.AnsweredWith);
        Assert.True(delivered.GetProperty("attempts").GetInt32() >= 2, "the attempts before the restart are counted");
        Assert.Equal(delivered.GetProperty("attempts").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), received.Header("X-Hyperion-Delivery"));
    }

    [Fact]
    public async Task The_webhooks_api_lists_webhooks_without_secrets_and_explains_bad_requests()
    {
        using var client = hyperion.CreateApiClient();
        using (var response = await client.GetAsync("/api/v1/webhooks"))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain(SecretOf(Ops), text);
            using var body = JsonDocument.Parse(text);
            var ops = body.RootElement.GetProperty("webhooks").EnumerateArray().Single(w => w.GetProperty("name").GetString() == Ops);
            Assert.Equal(hyperion.Receiver.UrlOf(PathOf(Ops)), ops.GetProperty("url").GetString());
            Assert.Equal(["*"], ops.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        }

        await AssertProblemAsync(await client.GetAsync("/api/v1/webhooks/deliveries?state=stuck"), HttpStatusCode.BadRequest, "pending, failed, delivered");
        await AssertProblemAsync(await client.GetAsync("/api/v1/webhooks/deliveries?limit=100000"), HttpStatusCode.BadRequest, "from 1 to 500");
        await AssertProblemAsync(await client.GetAsync("/api/v1/webhooks/deliveries/not-an-id"), HttpStatusCode.BadRequest, "UUID");
        await AssertProblemAsync(await client.PostAsync("/api/v1/webhooks/nobody/test", null), HttpStatusCode.NotFound, "configured: ops, flaky, dead, restart, slow");

        using var anonymous = hyperion.CreateHttpClient("orchestrator");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/webhooks/deliveries")).StatusCode);
        using var deployer = hyperion.CreateApiClient(key: (await hyperion.CreateKeyAsync(["deploy"])).Key);
        await AssertProblemAsync(await deployer.GetAsync("/api/v1/webhooks/deliveries"), HttpStatusCode.Forbidden, "'admin'");
        await AssertProblemAsync(await deployer.PostAsync($"/api/v1/webhooks/{Ops}/test", null), HttpStatusCode.Forbidden, "'admin'");
    }

    [Fact]
    public async Task Deliveries_page_newest_first()
    {
        using var client = hyperion.CreateApiClient();
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await PingAsync(client, Ops)).DeliveryId);
        }
        var first = await GetJsonAsync(client, $"/api/v1/webhooks/deliveries?webhook={Ops}&limit=2");
        Assert.Equal([ids[2], ids[1]], first.GetProperty("deliveries").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()));
        var next = first.GetProperty("next_before").GetGuid();
        var second = await GetJsonAsync(client, $"/api/v1/webhooks/deliveries?webhook={Ops}&limit=2&before={next}");
        Assert.Equal(ids[0], second.GetProperty("deliveries")[0].GetProperty("id").GetGuid());
    }

    private static string Sign(string secret, string timestamp, byte[] body)
    {
        var message = Encoding.ASCII.GetBytes(timestamp + ".").Concat(body).ToArray();
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    private static async Task<(Guid EventId, Guid DeliveryId)> PingAsync(HttpClient client, string webhook)
    {
        using var response = await client.PostAsync($"/api/v1/webhooks/{webhook}/test", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /api/v1/webhooks/{webhook}/test answered {(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        var deliveryId = body.RootElement.GetProperty("delivery_id").GetGuid();
        Assert.Equal($"/api/v1/webhooks/deliveries/{deliveryId}", response.Headers.Location?.OriginalString);
        return (body.RootElement.GetProperty("event_id").GetGuid(), deliveryId);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> WaitForDeliveryAsync(HttpClient client, Guid deliveryId, Func<JsonElement, bool> predicate, string what)
    {
        var deadline = DateTime.UtcNow + Soon;
        while (true)
        {
            var delivery = await GetJsonAsync(client, $"/api/v1/webhooks/deliveries/{deliveryId}");
            if (predicate(delivery))
            {
                return delivery;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"delivery {deliveryId} was not {what} within {Soon.TotalSeconds:0} s: {delivery}");
            }
            await Task.Delay(100);
        }
    }

    private async Task WaitForMetricAsync(string webhook, string outcome, double atLeast)
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        var deadline = DateTime.UtcNow + Soon;
        var value = 0.0;
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await client.GetStringAsync("/metrics");
            var line = metrics.Split('\n').FirstOrDefault(l =>
                l.StartsWith("hyperion_orchestrator_webhook_deliveries_total{", StringComparison.Ordinal)
                && l.Contains($"webhook=\"{webhook}\"", StringComparison.Ordinal)
                && l.Contains($"outcome=\"{outcome}\"", StringComparison.Ordinal));
            value = line is null ? 0 : double.Parse(line[(line.IndexOf('}') + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            if (value >= atLeast)
            {
                return;
            }
            await Task.Delay(200);
        }
        Assert.Fail($"hyperion_orchestrator_webhook_deliveries_total{{webhook=\"{webhook}\",outcome=\"{outcome}\"}} is {value}, expected at least {atLeast}");
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(detailContains, text);
        }
    }

    /// <summary>The services as the orchestrator registers them, with its webhook settings (not started: only the outbox is used).</summary>
    private IHost OutboxHost()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(hyperion.OrchestratorSettings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.AddWebhooks();
        return builder.Build();
    }

    private async Task<long> ScalarAsync(string sql, object parameter)
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
