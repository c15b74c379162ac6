using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.ControlPlane;
using static Hyperion.Tests.ControlPlane.KeysTestApi;
using static Hyperion.Tests.Gateway.GatewayTestApi;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// Issue 18 item 6 on the real graph: the gateways meter requests, rows and compute time per key, team and model in
/// Redis; the orchestrator moves them into PostgreSQL exactly once (<c>GET /api/v1/usage</c>); daily quotas per key
/// and per team answer 429 with <c>RateLimit-*</c> headers once used up, and leave other keys alone.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayUsageTests(GatewayFixture hyperion)
{
    [Fact]
    public async Task Usage_appears_after_requests_and_two_flushes_add_each_request_exactly_once()
    {
        var team = await hyperion.CreateTeamAsync("metered");
        var model = await DeployDigitsAsync();
        await hyperion.SetModelTeamAsync(model, team);
        var key = await hyperion.CreateKeyAsync([Scopes.Infer], team: team);
        var other = await hyperion.CreateKeyAsync([Scopes.Infer]);

        // The digits request carries two rows; the two gateway replicas meter into the same counts. A request the
        // gateway refuses (the team's key before it knows the model's team) is not metered; each replica's first
        // admitted one is.
        var admitted = await WaitUntilAdmittedAsync(key.Key, model);
        await InferDigitsAsync(key.Key, model, times: 3);
        var first = await WaitForUsageAsync(key.Id, requests: admitted + 3);
        Assert.Equal(2 * (admitted + 3), first.GetProperty("totals").GetProperty("rows").GetInt64());
        var row = Assert.Single(first.GetProperty("usage").EnumerateArray());
        Assert.Equal(key.Id.ToString(), row.GetProperty("key_id").GetString());
        Assert.Equal(team, row.GetProperty("team").GetString());
        Assert.Equal(model, row.GetProperty("model").GetString());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), row.GetProperty("day").GetString());
        Assert.True(row.GetProperty("compute_seconds").GetDouble() > 0, row.ToString());

        await InferDigitsAsync(key.Key, model, times: 2);
        await InferDigitsAsync(other.Key, model, times: 1);
        var second = await WaitForUsageAsync(key.Id, requests: admitted + 5);
        Assert.Equal(2 * (admitted + 5), second.GetProperty("totals").GetProperty("rows").GetInt64());
        // More flushes with nothing new add nothing: each batch was moved once.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await FlushAsync();
        await FlushAsync();
        Assert.Equal(admitted + 5, (await UsageAsync($"key={key.Id}")).GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(admitted + 5, (await UsageAsync($"team={team}")).GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(1, (await WaitForUsageAsync(other.Id, requests: 1)).GetProperty("totals").GetProperty("requests").GetInt64());

        // A key sees its own usage and its team's, not another key's.
        using var own = hyperion.CreateApiClient(key: key.Key);
        using (var mine = JsonDocument.Parse(await own.GetStringAsync("/api/v1/usage")))
        {
            Assert.Equal(admitted + 5, mine.RootElement.GetProperty("totals").GetProperty("requests").GetInt64());
        }
        using (var refused = await own.GetAsync($"/api/v1/usage?key={other.Id}"))
        {
            Assert.Contains("another key's usage", await AssertProblemAsync(refused, HttpStatusCode.Forbidden));
        }
        using (var otherTeam = await own.GetAsync("/api/v1/usage?team=someone-else"))
        {
            Assert.Contains($"team '{team}'", await AssertProblemAsync(otherTeam, HttpStatusCode.Forbidden));
        }
        using (var badRange = await own.GetAsync("/api/v1/usage?from=2026-12-05&to=2026-12-01"))
        {
            Assert.Contains("is after to", await AssertProblemAsync(badRange, HttpStatusCode.BadRequest));
        }
    }

    [Fact]
    public async Task A_used_up_key_quota_is_429_with_rate_limit_headers_and_other_keys_are_unaffected()
    {
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "quota");
        var limited = await hyperion.CreateKeyAsync([Scopes.Infer]);
        var free = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using (var admin = hyperion.CreateApiClient())
        using (var put = await admin.PutAsync($"/api/v1/keys/{limited.Id}/quota", Json("""{"requests_per_day": 2}""")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // The two replicas count into one quota.
        using var first = hyperion.CreateGatewayClient(limited.Key, replica: 0);
        using var second = hyperion.CreateGatewayClient(limited.Key, replica: 1);
        using (var ok = await InferAsync(first, model))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("1", ok.Headers.GetValues("Hyperion-Quota-Remaining").Single());
        }
        using (var ok = await InferAsync(second, model))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var refused = await InferAsync(first, model))
        {
            var error = await AssertOipErrorAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Contains("quota exceeded", error);
            Assert.Contains("may make 2 requests per day", error);
            Assert.Contains("has made 2", error);
            Assert.Equal("2", refused.Headers.GetValues("RateLimit-Limit").Single());
            Assert.Equal("0", refused.Headers.GetValues("RateLimit-Remaining").Single());
            var reset = long.Parse(refused.Headers.GetValues("RateLimit-Reset").Single(), CultureInfo.InvariantCulture);
            Assert.InRange(reset, 1, 86_400);
            Assert.Equal(TimeSpan.FromSeconds(reset), refused.Headers.RetryAfter?.Delta);
        }

        using var other = hyperion.CreateGatewayClient(free.Key);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await InferAsync(other, model);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.False(ok.Headers.Contains("Hyperion-Quota-Remaining"));
        }
    }

    [Fact]
    public async Task A_team_quota_is_shared_by_the_team_keys_and_names_the_team_when_used_up()
    {
        var team = await hyperion.CreateTeamAsync("capped");
        var model = await hyperion.DeployIdentityAsync(1, Deployment("""{"stable": 1}"""), prefix: "teamquota");
        await hyperion.SetModelTeamAsync(model, team);
        using (var admin = hyperion.CreateApiClient())
        {
            using var put = await admin.PutAsync($"/api/v1/teams/{team}/quota", Json("""{"requests_per_day": 3, "requests_per_month": 100}"""));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            using var bad = await admin.PutAsync($"/api/v1/teams/{team}/quota", Json("""{"requests_per_day": 0, "requests_per_month": 2}"""));
            var detail = await AssertProblemAsync(bad, HttpStatusCode.BadRequest);
            Assert.Contains("at least 1", detail);
            using var audit = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?action=team.quota_changed"));
            Assert.Contains(audit.RootElement.GetProperty("entries").EnumerateArray(), entry => entry.GetProperty("target").GetString() == $"team {team}");
        }
        var a = await hyperion.CreateKeyAsync([Scopes.Infer], team: team);
        var b = await hyperion.CreateKeyAsync([Scopes.Infer], team: team);
        using var clientA = hyperion.CreateGatewayClient(a.Key);
        using var clientB = hyperion.CreateGatewayClient(b.Key);
        await WaitUntilAsync(async () =>
        {
            // The team's keys are admitted once the gateway's routing table knows the model's team.
            using var probe = await InferAsync(clientA, model);
            return probe.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), $"gateway admitting team '{team}'");
        using (var ok = await InferAsync(clientA, model))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var ok = await InferAsync(clientB, model))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var refused = await InferAsync(clientB, model);
        var error = await AssertOipErrorAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains($"team '{team}' may make 3 requests per day", error);
        Assert.Equal("3", refused.Headers.GetValues("RateLimit-Limit").Single());
    }

    [Fact]
    public async Task A_batch_left_pending_by_a_crash_is_moved_once_whether_the_crash_came_before_or_after_the_commit()
    {
        var model = RegistryTestData.UniqueName("crash");
        var batch = UsageCounters.BatchPrefix + "test-" + Guid.NewGuid().ToString("N");
        var day = UsageCounters.Day(DateTimeOffset.UtcNow);
        HashEntry[] counts =
        [
            new(UsageCounters.Field(day, "jwt:crash-test", "", model, UsageCounters.Requests), 4),
            new(UsageCounters.Field(day, "jwt:crash-test", "", model, UsageCounters.Rows), 9),
        ];
        using var redis = await ConnectionMultiplexer.ConnectAsync(hyperion.GetConnectionString("cache"));
        var database = redis.GetDatabase();

        // Renamed away and noted as pending, then the orchestrator stopped before its transaction: nothing is lost.
        await database.HashSetAsync(batch, counts);
        await database.SetAddAsync(UsageCounters.PendingSet, batch);
        await FlushAsync();
        var moved = await UsageAsync($"model={model}");
        Assert.Equal(4, moved.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(9, moved.GetProperty("totals").GetProperty("rows").GetInt64());
        Assert.False(await database.KeyExistsAsync(batch));
        Assert.False(await database.SetContainsAsync(UsageCounters.PendingSet, batch));

        // Committed, then stopped before the batch was deleted from Redis: the retry adds nothing, and cleans up.
        await database.HashSetAsync(batch, counts);
        await database.SetAddAsync(UsageCounters.PendingSet, batch);
        await FlushAsync();
        Assert.Equal(4, (await UsageAsync($"model={model}")).GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.False(await database.KeyExistsAsync(batch));
    }

    private async Task<string> DeployDigitsAsync()
    {
        using var admin = hyperion.CreateApiClient();
        var model = await DeploymentTestSupport.RegisterDigitsAsync(admin, "usage", versions: 1);
        await DeploymentTestSupport.PutOkAsync(admin, model, """{"stable": 1}""");
        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var gateway = hyperion.CreateGatewayClient(replica: replica);
            await WaitUntilAsync(async () =>
            {
                using var response = await InferAsync(gateway, model, body: DeploymentTestSupport.DigitsRequest);
                return response.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromMinutes(2), $"gateway {replica} routing '{model}'");
        }
        return model;
    }

    /// <summary>Waits until every gateway replica admits the team's key on the model; returns the requests admitted meanwhile (one a replica).</summary>
    private async Task<int> WaitUntilAdmittedAsync(string key, string model)
    {
        for (var replica = 0; replica < hyperion.Gateways; replica++)
        {
            using var gateway = hyperion.CreateGatewayClient(key, replica);
            await WaitUntilAsync(async () =>
            {
                using var response = await InferAsync(gateway, model, body: DeploymentTestSupport.DigitsRequest);
                return response.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromSeconds(30), $"gateway {replica} admitting the team's key on '{model}'");
        }
        return hyperion.Gateways;
    }

    private async Task InferDigitsAsync(string key, string model, int times)
    {
        for (var i = 0; i < times; i++)
        {
            using var gateway = hyperion.CreateGatewayClient(key, replica: i % hyperion.Gateways);
            using var response = await InferAsync(gateway, model, body: DeploymentTestSupport.DigitsRequest);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("2", response.Headers.GetValues(UsageCounters.RowsHeader).Single());
        }
    }

    private async Task FlushAsync()
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsync("/api/v1/usage/flush", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement> UsageAsync(string query)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.GetAsync($"/api/v1/usage?{query}");
        return await JsonAsync(response);
    }

    /// <summary>Flushes until the key's usage counts <paramref name="requests"/> (gateways add to Redis about once a second); fails past it.</summary>
    private async Task<JsonElement> WaitForUsageAsync(Guid key, long requests)
    {
        JsonElement usage = default;
        await WaitUntilAsync(async () =>
        {
            await FlushAsync();
            usage = await UsageAsync($"key={key}");
            var counted = usage.GetProperty("totals").GetProperty("requests").GetInt64();
            Assert.True(counted <= requests, $"usage counted {counted} requests, more than the {requests} made: {usage}");
            return counted == requests;
        }, TimeSpan.FromSeconds(30), $"usage of key {key} reaching {requests} requests");
        return usage;
    }
}
