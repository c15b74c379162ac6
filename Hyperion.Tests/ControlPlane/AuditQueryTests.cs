using System.Net;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Npgsql;

namespace Hyperion.Tests.ControlPlane;

/// <summary><c>GET /api/v1/audit</c>: filters, order, paging and refusals, on entries written to the real database.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class AuditQueryTests(HyperionAppFixture hyperion)
{
    // Entries of a model no other test uses, at times no real entry has, so the answers are exact.
    private readonly string _model = $"audit-{Guid.NewGuid():N}";
    private static readonly DateTimeOffset Origin = new(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);

    [Fact]
    public async Task Entries_of_a_model_come_newest_first_with_every_field()
    {
        await AppendAsync(("alice", "model.created", Origin), ("bob", "version.registered", Origin.AddMinutes(1)));

        var entries = (await QueryAsync($"model={_model}")).GetProperty("entries").EnumerateArray().ToList();

        Assert.Equal(["version.registered", "model.created"], entries.Select(entry => entry.GetProperty("action").GetString()));
        var newest = entries[0];
        Assert.True(newest.GetProperty("id").GetInt64() > entries[1].GetProperty("id").GetInt64());
        Assert.Equal(Origin.AddMinutes(1), newest.GetProperty("occurred_at").GetDateTimeOffset());
        Assert.Equal("bob", newest.GetProperty("actor").GetString());
        Assert.Equal(_model, newest.GetProperty("model").GetString());
        Assert.Equal("version 1", newest.GetProperty("target").GetString());
        Assert.Equal(JsonValueKind.Null, newest.GetProperty("before").ValueKind);
        Assert.Equal(1, newest.GetProperty("after").GetProperty("version").GetInt32());
        Assert.Equal("test", newest.GetProperty("details").GetProperty("source").GetString());
    }

    [Fact]
    public async Task Action_actor_and_time_filters_combine()
    {
        await AppendAsync(
            ("alice", "deployment.updated", Origin),
            ("bob", "deployment.updated", Origin.AddHours(1)),
            ("alice", "deployment.updated", Origin.AddHours(2)),
            ("alice", "rollout.promoted", Origin.AddHours(3)));

        Assert.Equal([Origin.AddHours(2), Origin], await TimesAsync($"model={_model}&action=deployment.updated&actor=alice"));
        Assert.Equal([Origin.AddHours(2), Origin.AddHours(1)], await TimesAsync(
            $"model={_model}&action=deployment.updated&since={Origin.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}&until={Origin.AddHours(3):yyyy-MM-ddTHH:mm:ssZ}"));
        // since is inclusive, until exclusive; an offset written as %2B is read as one.
        Assert.Equal([Origin.AddHours(1)], await TimesAsync(
            $"model={_model}&since={Origin.AddHours(2):yyyy-MM-ddTHH:mm:ss}%2B01:00&until={Origin.AddHours(3):yyyy-MM-ddTHH:mm:ss}%2B01:00"));
        Assert.Empty(await TimesAsync($"model={_model}&actor=nobody"));
    }

    [Fact]
    public async Task Pages_follow_the_next_cursor_until_it_is_null()
    {
        await AppendAsync([.. Enumerable.Range(0, 5).Select(i => ("alice", "model.updated", Origin.AddMinutes(i)))]);

        var seen = new List<DateTimeOffset>();
        string? next = null;
        var pages = 0;
        do
        {
            var page = await QueryAsync($"model={_model}&limit=2" + (next is null ? "" : $"&before={next}"));
            var entries = page.GetProperty("entries").EnumerateArray().ToList();
            Assert.InRange(entries.Count, 1, 2);
            seen.AddRange(entries.Select(entry => entry.GetProperty("occurred_at").GetDateTimeOffset()));
            next = page.GetProperty("next").GetString();
            pages++;
        }
        while (next is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 5).Reverse().Select(i => Origin.AddMinutes(i)), seen);
    }

    [Fact]
    public async Task Key_changes_are_audited_with_who_did_them_and_never_the_key()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer], name: "audited");
        using var admin = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{issued.Id}")).StatusCode);

        using var response = await admin.GetAsync("/api/v1/audit?limit=1000");
        var text = await response.Content.ReadAsStringAsync();
        using var page = JsonDocument.Parse(text);
        var entries = page.RootElement.GetProperty("entries").EnumerateArray()
            .Where(entry => entry.GetProperty("target").GetString() == $"key {issued.Id}")
            .ToList();

        Assert.Equal(["key.revoked", "key.created"], entries.Select(entry => entry.GetProperty("action").GetString()));
        Assert.All(entries, entry => Assert.StartsWith("key:bootstrap-admin", entry.GetProperty("actor").GetString()));
        var created = entries[1].GetProperty("after");
        Assert.Equal("audited", created.GetProperty("name").GetString());
        Assert.Equal(["infer"], created.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));
        Assert.Equal("revoked", entries[0].GetProperty("after").GetProperty("state").GetString());
        Assert.DoesNotContain(issued.Key, text);
        Assert.DoesNotContain(ApiKeyFormat.HashHex(issued.Key), text);
        Assert.DoesNotContain(ApiKeyFormat.PrefixOf(issued.Key), text.Replace(ApiKeyFormat.PrefixOf(hyperion.AdminKey), "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_deploy_key_may_read_the_audit_log_and_an_infer_key_may_not()
    {
        var deploy = await hyperion.CreateKeyAsync([Scopes.Deploy]);
        var infer = await hyperion.CreateKeyAsync([Scopes.Infer]);

        using (var deployClient = hyperion.CreateApiClient(key: deploy.Key))
        {
            Assert.Equal(HttpStatusCode.OK, (await deployClient.GetAsync("/api/v1/audit?limit=1")).StatusCode);
        }
        using var inferClient = hyperion.CreateApiClient(key: infer.Key);
        using var refused = await inferClient.GetAsync("/api/v1/audit");
        Assert.Contains("'deploy' or 'admin'", await KeysTestApi.AssertProblemAsync(refused, HttpStatusCode.Forbidden));
    }

    [Theory]
    [InlineData("limit=0", "limit must be a whole number from 1 to 1000")]
    [InlineData("limit=1001", "limit must be a whole number from 1 to 1000")]
    [InlineData("limit=ten", "limit must be a whole number from 1 to 1000")]
    [InlineData("before=-3", "before must be the 'next' cursor")]
    [InlineData("before=abc", "before must be the 'next' cursor")]
    [InlineData("since=yesterday", "since must be an ISO 8601 time")]
    [InlineData("until=2030-01-01T00:00:00+01:00", "a '+' in a URL reads as a space")]
    [InlineData("since=2030-01-02&until=2030-01-01", "must be later than since")]
    [InlineData("modle=digits", "unknown parameter 'modle'")]
    [InlineData("model=", "'model' is empty")]
    [InlineData("model=a&model=b", "give it once")]
    public async Task Bad_parameters_are_refused_with_what_is_expected(string query, string expectedInDetail)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.GetAsync($"/api/v1/audit?{query}");
        Assert.Contains(expectedInDetail, await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Without_a_limit_at_most_100_entries_come_back()
    {
        await AppendAsync([.. Enumerable.Range(0, 101).Select(i => ("alice", "model.updated", Origin.AddSeconds(i)))]);

        var page = await QueryAsync($"model={_model}");

        Assert.Equal(100, page.GetProperty("entries").GetArrayLength());
        Assert.Equal(JsonValueKind.String, page.GetProperty("next").ValueKind);
    }

    private async Task<JsonElement> QueryAsync(string query)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.GetAsync($"/api/v1/audit?{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /api/v1/audit?{query}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<DateTimeOffset>> TimesAsync(string query) =>
        [.. (await QueryAsync(query)).GetProperty("entries").EnumerateArray().Select(entry => entry.GetProperty("occurred_at").GetDateTimeOffset())];

    private async Task AppendAsync(params (string Actor, string Action, DateTimeOffset OccurredAt)[] entries)
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        foreach (var (actor, action, occurredAt) in entries)
        {
            await using var insert = new NpgsqlCommand("""
                INSERT INTO audit_log (occurred_at, actor, action, model, target, after, details)
                VALUES ($1, $2, $3, $4, 'version 1', '{"version": 1}', '{"source": "test"}')
                """, connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = occurredAt });
            insert.Parameters.Add(new NpgsqlParameter { Value = actor });
            insert.Parameters.Add(new NpgsqlParameter { Value = action });
            insert.Parameters.Add(new NpgsqlParameter { Value = _model });
            await insert.ExecuteNonQueryAsync();
        }
    }
}
