using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The gateways' internal key lookup (<see cref="ControlPlaneRoutes.KeyLookup"/>).</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class KeyLookupTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task An_active_key_resolves_to_its_identity_with_scopes_expiry_and_rate_limit()
    {
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        using var admin = hyperion.CreateApiClient();
        using var created = await admin.PostAsync("/api/v1/keys", KeysTestApi.Json($$$"""
            {"name": "lookup-active", "scopes": ["infer:digits", "deploy"], "expires_at": "{{{expires:O}}}",
             "rate_limit": {"requests_per_second": 50, "burst": 100}}
            """));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var createdBody = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = createdBody.RootElement.GetProperty("key").GetString()!;

        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var response = await cluster.PostAsJsonAsync(ControlPlaneRoutes.KeyLookup, new KeyLookupRequest(ApiKeyFormat.HashHex(key)), ControlPlaneJson.Options);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var identity = await response.Content.ReadFromJsonAsync<KeyIdentity>(ControlPlaneJson.Options);
        Assert.NotNull(identity);
        Assert.Equal(createdBody.RootElement.GetProperty("id").GetGuid(), identity.Id);
        Assert.Equal("lookup-active", identity.Name);
        Assert.Equal(ApiKeyFormat.PrefixOf(key), identity.Prefix);
        Assert.Equal(["infer:digits", "deploy"], identity.Scopes);
        Assert.Equal(expires.ToUnixTimeMilliseconds(), identity.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(new RateLimitPlan(50, 100), identity.RateLimit);
    }

    [Fact]
    public async Task A_revoked_key_is_not_found()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using (var before = await cluster.PostAsJsonAsync(ControlPlaneRoutes.KeyLookup, new KeyLookupRequest(ApiKeyFormat.HashHex(issued.Key)), ControlPlaneJson.Options))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var admin = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{issued.Id}")).StatusCode);

        using var after = await cluster.PostAsJsonAsync(ControlPlaneRoutes.KeyLookup, new KeyLookupRequest(ApiKeyFormat.HashHex(issued.Key)), ControlPlaneJson.Options);
        Assert.Contains("unknown, revoked or expired", await KeysTestApi.AssertProblemAsync(after, HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task An_unknown_key_is_not_found()
    {
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var response = await cluster.PostAsJsonAsync(
            ControlPlaneRoutes.KeyLookup, new KeyLookupRequest(ApiKeyFormat.HashHex(ApiKeyFormat.Generate())), ControlPlaneJson.Options);
        await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"key_hash": "abc"}""")]
    [InlineData("""{"key_hash": "zz00000000000000000000000000000000000000000000000000000000000000"}""")]
    [InlineData("""{"key_hash": null}""")]
    [InlineData("""{}""")]
    [InlineData("""{"key_hash": """)]
    public async Task A_malformed_hash_or_body_is_a_bad_request_that_says_what_is_expected(string body)
    {
        using var cluster = hyperion.CreateHttpClient("orchestrator");
        using var response = await cluster.PostAsync(ControlPlaneRoutes.KeyLookup, KeysTestApi.Json(body));
        Assert.Contains("key_hash", await KeysTestApi.AssertProblemAsync(response, HttpStatusCode.BadRequest));
    }
}
