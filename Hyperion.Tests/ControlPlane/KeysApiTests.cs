using System.Net;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary><c>/api/v1/keys</c> on the real graph: issue, use, list, revoke, and every refusal.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class KeysApiTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task A_new_key_is_shown_once_and_authenticates_with_its_scopes()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer], name: "ci");

        Assert.True(ApiKeyFormat.LooksLikeKey(issued.Key));
        Assert.Equal("ci", issued.Body.GetProperty("name").GetString());
        Assert.Equal(ApiKeyFormat.PrefixOf(issued.Key), issued.Body.GetProperty("prefix").GetString());
        Assert.Equal(["infer"], issued.Body.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));
        Assert.Equal(JsonValueKind.Null, issued.Body.GetProperty("expires_at").ValueKind);
        Assert.True(issued.Body.GetProperty("created_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));

        using var client = hyperion.CreateApiClient(key: issued.Key);
        using var whoami = await client.GetAsync("/api/v1/whoami");
        Assert.Equal(HttpStatusCode.OK, whoami.StatusCode);
        using var body = JsonDocument.Parse(await whoami.Content.ReadAsStringAsync());
        Assert.Equal(issued.Id.ToString(), body.RootElement.GetProperty("key_id").GetString());
        Assert.Equal(["infer"], body.RootElement.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));

        // The key is in the creation answer only.
        using var admin = hyperion.CreateApiClient();
        var shown = await (await admin.GetAsync($"/api/v1/keys/{issued.Id}")).Content.ReadAsStringAsync();
        var listed = await (await admin.GetAsync("/api/v1/keys")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(issued.Key, shown);
        Assert.DoesNotContain(issued.Key, listed);
    }

    [Fact]
    public async Task A_key_without_admin_cannot_create_keys_and_is_told_which_scope_is_needed()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer, Scopes.Deploy]);
        using var client = hyperion.CreateApiClient(key: issued.Key);

        using var response = await client.PostAsync("/api/v1/keys", KeysTestApi.Json("""{"name": "sneaky", "scopes": ["admin"]}"""));

        var detail = await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("'admin'", detail);
        Assert.Contains("infer", detail);
        using var list = await client.GetAsync("/api/v1/keys");
        await KeysTestApi.AssertProblemAsync(list, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_on_its_next_call()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Deploy]);
        using var client = hyperion.CreateApiClient(key: issued.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/whoami")).StatusCode);

        using var admin = hyperion.CreateApiClient();
        using var revoke = await admin.DeleteAsync($"/api/v1/keys/{issued.Id}");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);

        using var refused = await client.GetAsync("/api/v1/whoami");
        Assert.Contains("unknown, revoked or expired", await KeysTestApi.AssertProblemAsync(refused, HttpStatusCode.Unauthorized));

        // The row stays, for the audit trail, and shows it was revoked.
        using var shown = JsonDocument.Parse(await (await admin.GetAsync($"/api/v1/keys/{issued.Id}")).Content.ReadAsStringAsync());
        Assert.Equal("revoked", shown.RootElement.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.String, shown.RootElement.GetProperty("revoked_at").ValueKind);

        // Revoking again is not an error: DELETE is idempotent.
        using var again = await admin.DeleteAsync($"/api/v1/keys/{issued.Id}");
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer], expiresAt: DateTimeOffset.UtcNow.AddSeconds(3));
        using var client = hyperion.CreateApiClient(key: issued.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/whoami")).StatusCode);

        await Task.Delay(issued.Body.GetProperty("expires_at").GetDateTimeOffset() - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500));

        using var refused = await client.GetAsync("/api/v1/whoami");
        await KeysTestApi.AssertProblemAsync(refused, HttpStatusCode.Unauthorized);
        using var admin = hyperion.CreateApiClient();
        using var shown = JsonDocument.Parse(await (await admin.GetAsync($"/api/v1/keys/{issued.Id}")).Content.ReadAsStringAsync());
        Assert.Equal("expired", shown.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_expiry_with_a_utc_offset_is_kept_as_the_same_instant()
    {
        var expires = new DateTimeOffset(2031, 6, 1, 12, 0, 0, TimeSpan.FromHours(2));
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsync("/api/v1/keys", KeysTestApi.Json(
            $$"""{"name": "offset", "scopes": ["infer"], "expires_at": "{{expires:yyyy-MM-ddTHH:mm:sszzz}}"}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        using var body = JsonDocument.Parse(text);
        Assert.Equal(expires, body.RootElement.GetProperty("expires_at").GetDateTimeOffset());
        Assert.Equal("2031-06-01T10:00:00+00:00", body.RootElement.GetProperty("expires_at").GetString());
    }

    [Fact]
    public async Task Keys_are_listed_newest_first_with_their_state_and_without_secrets()
    {
        var older = await hyperion.CreateKeyAsync([Scopes.Infer]);
        var newer = await hyperion.CreateKeyAsync([Scopes.InferModel("digits")]);
        using var admin = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{older.Id}")).StatusCode);

        using var response = await admin.GetAsync("/api/v1/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var keys = body.RootElement.GetProperty("keys").EnumerateArray().ToList();
        var ids = keys.Select(key => key.GetProperty("id").GetGuid()).ToList();
        Assert.True(ids.IndexOf(newer.Id) < ids.IndexOf(older.Id), "newest first");

        var listedNewer = keys.Single(key => key.GetProperty("id").GetGuid() == newer.Id);
        Assert.Equal("active", listedNewer.GetProperty("state").GetString());
        Assert.Equal(["infer:digits"], listedNewer.GetProperty("scopes").EnumerateArray().Select(scope => scope.GetString()));
        Assert.Equal(ApiKeyFormat.PrefixOf(newer.Key), listedNewer.GetProperty("prefix").GetString());
        Assert.StartsWith("key:bootstrap-admin", listedNewer.GetProperty("created_by").GetString());
        Assert.False(listedNewer.TryGetProperty("key", out _));
        Assert.False(listedNewer.TryGetProperty("key_hash", out _));
        Assert.Equal("revoked", keys.Single(key => key.GetProperty("id").GetGuid() == older.Id).GetProperty("state").GetString());
        Assert.Contains(keys, key => key.GetProperty("name").GetString() == "bootstrap-admin" && key.GetProperty("bootstrap").GetBoolean());
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"name": "ci", "scopes": []}""", "scopes is required" },
        { """{"name": "ci"}""", "scopes is required" },
        { """{"name": "ci", "scopes": ["root"]}""", "unknown scope 'root'" },
        { """{"name": "ci", "scopes": ["infer:"]}""", "unknown scope 'infer:'" },
        { """{"name": "ci", "scopes": ["infer", "infer"]}""", "listed twice" },
        { """{"name": "", "scopes": ["infer"]}""", "name is required" },
        { $$"""{"name": "{{new string('n', 101)}}", "scopes": ["infer"]}""", "at most 100" },
        { """{"name": "ci", "scopes": ["infer"], "expires_at": "2020-01-01T00:00:00Z"}""", "not in the future" },
        { """{"name": "ci", "scopes": ["infer"], "expires_at": "next tuesday"}""", "$.expires_at" },
        { """{"name": "ci", "scopes": ["infer"], "rate_limit": {"requests_per_second": 0, "burst": -1}}""", "requests_per_second must be a positive number" },
        { """{"name": "ci", "scopes": ["infer"], "expiry": "2030-01-01T00:00:00Z"}""", "unknown field 'expiry'" },
        { """{"name": "ci", "scopes": "infer"}""", "$.scopes" },
        { """{"name": "ci", "scopes": ["infer"]""", "expected {\"name\"" },
        { "", "expected {\"name\"" },
        { "null", "JSON null" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task A_bad_request_body_is_refused_with_what_was_wrong_and_what_is_expected(string body, string expectedInDetail)
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsync("/api/v1/keys", KeysTestApi.Json(body));
        Assert.Contains(expectedInDetail, await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused_with_415()
    {
        using var admin = hyperion.CreateApiClient();
        using var response = await admin.PostAsync("/api/v1/keys", new StringContent("name=ci&scopes=infer", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Contains("application/json", await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType));
    }

    [Fact]
    public async Task Unknown_and_malformed_ids_are_404_and_400()
    {
        using var admin = hyperion.CreateApiClient();
        var unknown = Guid.NewGuid();
        using (var get = await admin.GetAsync($"/api/v1/keys/{unknown}"))
        {
            Assert.Contains(unknown.ToString(), await KeysTestApi.AssertProblemAsync(get, HttpStatusCode.NotFound));
        }
        using (var delete = await admin.DeleteAsync($"/api/v1/keys/{unknown}"))
        {
            Assert.Contains(unknown.ToString(), await KeysTestApi.AssertProblemAsync(delete, HttpStatusCode.NotFound));
        }
        using (var malformed = await admin.DeleteAsync("/api/v1/keys/not-a-key"))
        {
            Assert.Contains("UUID", await KeysTestApi.AssertProblemAsync(malformed, HttpStatusCode.BadRequest));
        }
    }

    [Fact]
    public async Task A_key_may_revoke_itself()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Admin]);
        using var self = hyperion.CreateApiClient(key: issued.Key);

        using var revoke = await self.DeleteAsync($"/api/v1/keys/{issued.Id}");

        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await self.GetAsync("/api/v1/whoami")).StatusCode);
    }

    [Fact]
    public async Task The_OpenApi_document_describes_the_keys_calls_and_the_creation_body()
    {
        using var client = hyperion.CreateHttpClient("orchestrator");
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var create = paths.GetProperty("/api/v1/keys").GetProperty("post");
        Assert.True(create.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(paths.GetProperty("/api/v1/keys/{id}").TryGetProperty("delete", out _));
        Assert.False(paths.TryGetProperty("/internal/v1/keys/lookup", out _), "internal routes stay out of the public document");
    }
}
