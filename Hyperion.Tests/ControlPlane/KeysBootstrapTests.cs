using System.Net;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A graph of its own: these tests restart the orchestrator, stop Redis and revoke admin keys.</summary>
public sealed class KeysGraphFixture : HyperionAppFixture;

[CollectionDefinition(Name)]
public sealed class KeysGraphCollection : ICollectionFixture<KeysGraphFixture>
{
    public const string Name = "Keys graph";
}

/// <summary>The bootstrap admin key across orchestrator restarts, the last-admin guard, and revocation while Redis is down.</summary>
[Collection(KeysGraphCollection.Name)]
public sealed class KeysBootstrapTests(KeysGraphFixture hyperion)
{
    private string AdminKeyPath => Path.Combine(hyperion.StateDirectory, "admin-key");

    [Fact]
    public async Task Restarting_the_orchestrator_with_the_key_file_keeps_the_admin_key()
    {
        var before = hyperion.AdminKey;

        await RestartOrchestratorAsync();

        Assert.Equal(before, hyperion.AdminKey);
        using var client = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/whoami")).StatusCode);
    }

    [Fact]
    public async Task Losing_the_key_file_issues_a_new_admin_key_and_revokes_the_old_one_everywhere()
    {
        var old = hyperion.AdminKey;
        await using var subscriber = await KeysRevokedChannel.SubscribeAsync(hyperion.GetConnectionString("cache"));

        await hyperion.StopAsync("orchestrator");
        File.Delete(AdminKeyPath);
        await hyperion.StartAsync("orchestrator");
        await hyperion.WaitForHealthyAsync("orchestrator");

        var issued = hyperion.AdminKey;
        Assert.NotEqual(old, issued);
        Assert.True(ApiKeyFormat.LooksLikeKey(issued));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminKeyPath));
        }
        using (var client = hyperion.CreateApiClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/whoami")).StatusCode);
        }
        using (var oldClient = hyperion.CreateApiClient(key: old))
        {
            await KeysTestApi.AssertProblemAsync(await oldClient.GetAsync("/api/v1/whoami"), HttpStatusCode.Unauthorized);
        }
        Assert.True(await subscriber.ReceivesAsync(ApiKeyFormat.HashHex(old), TimeSpan.FromSeconds(5)), "gateways were not told that the old key is revoked");

        using var admin = hyperion.CreateApiClient();
        using var audit = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?action=key.revoked&actor=system:bootstrap"));
        Assert.Contains(audit.RootElement.GetProperty("entries").EnumerateArray(),
            entry => entry.GetProperty("details").GetProperty("name").GetString() == "bootstrap-admin");
    }

    [Fact]
    public async Task The_last_active_admin_key_cannot_be_revoked()
    {
        using var admin = hyperion.CreateApiClient();
        var self = await SelfIdAsync(admin);
        await RevokeAdminKeysExceptAsync(admin, self);
        // An admin key that has expired does not count.
        await hyperion.CreateKeyAsync([Scopes.Admin], expiresAt: DateTimeOffset.UtcNow.AddSeconds(2));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        using var refused = await admin.DeleteAsync($"/api/v1/keys/{self}");

        var detail = await KeysTestApi.AssertProblemAsync(refused, HttpStatusCode.Conflict);
        Assert.Contains("last active key with the scope 'admin'", detail);
        Assert.Contains("Create another admin key first", detail);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/whoami")).StatusCode);

        // With a second admin key, either may go.
        var second = await hyperion.CreateKeyAsync([Scopes.Admin]);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{second.Id}")).StatusCode);
    }

    [Fact]
    public async Task Two_callers_revoking_the_last_two_admin_keys_at_once_leave_one()
    {
        using var admin = hyperion.CreateApiClient();
        var bootstrap = await SelfIdAsync(admin);
        await RevokeAdminKeysExceptAsync(admin, bootstrap);
        var second = await hyperion.CreateKeyAsync([Scopes.Admin]);
        using var secondClient = hyperion.CreateApiClient(key: second.Key);

        // Each revokes the other's key.
        var outcomes = await Task.WhenAll(
            admin.DeleteAsync($"/api/v1/keys/{second.Id}"),
            secondClient.DeleteAsync($"/api/v1/keys/{bootstrap}"));

        // One revocation wins. The loser is refused: 409 when it was authenticated before the winner committed,
        // 401 when its own key was already revoked by then. Either way one admin key is left.
        var codes = outcomes.Select(response => response.StatusCode).Order().ToArray();
        Assert.Equal(HttpStatusCode.NoContent, codes[0]);
        Assert.Contains(codes[1], new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Conflict });
        Assert.Single(await ActiveAdminKeysAsync(outcomes[0].StatusCode == HttpStatusCode.NoContent ? admin : secondClient));
        if (outcomes[1].StatusCode == HttpStatusCode.NoContent)
        {
            // The bootstrap key lost: the next start replaces it (see the next test), so the other tests keep one.
            await RestartOrchestratorAsync();
            using var renewed = hyperion.CreateApiClient();
            Assert.Equal(HttpStatusCode.NoContent, (await renewed.DeleteAsync($"/api/v1/keys/{second.Id}")).StatusCode);
        }
    }

    [Fact]
    public async Task A_bootstrap_key_revoked_through_the_api_is_replaced_at_the_next_start()
    {
        var old = hyperion.AdminKey;
        var other = await hyperion.CreateKeyAsync([Scopes.Admin]);
        using var otherClient = hyperion.CreateApiClient(key: other.Key);
        using (var admin = hyperion.CreateApiClient())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await otherClient.DeleteAsync($"/api/v1/keys/{await SelfIdAsync(admin)}")).StatusCode);
        }

        await RestartOrchestratorAsync();

        Assert.NotEqual(old, hyperion.AdminKey);
        using var renewed = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await renewed.GetAsync("/api/v1/whoami")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await renewed.DeleteAsync($"/api/v1/keys/{other.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_revocation_stands_while_Redis_is_down()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using var admin = hyperion.CreateApiClient();
        await hyperion.StopAsync("cache");
        try
        {
            var started = DateTimeOffset.UtcNow;
            using var revoke = await admin.DeleteAsync($"/api/v1/keys/{issued.Id}");
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
            Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(10), "the revocation waited on Redis");

            using var client = hyperion.CreateApiClient(key: issued.Key);
            await KeysTestApi.AssertProblemAsync(await client.GetAsync("/api/v1/whoami"), HttpStatusCode.Unauthorized);
            await WaitForOrchestratorLogAsync($"Key {issued.Id} is revoked, but the notice to gateways could not be published");
        }
        finally
        {
            await hyperion.StartAsync("cache");
        }
        await hyperion.WaitForHealthyAsync("cache");
        await hyperion.WaitForAllHealthyAsync();
    }

    private async Task RestartOrchestratorAsync()
    {
        await hyperion.StopAsync("orchestrator");
        await hyperion.StartAsync("orchestrator");
        await hyperion.WaitForHealthyAsync("orchestrator");
    }

    private static async Task<Guid> SelfIdAsync(HttpClient client)
    {
        using var whoami = JsonDocument.Parse(await client.GetStringAsync("/api/v1/whoami"));
        return Guid.Parse(whoami.RootElement.GetProperty("key_id").GetString()!);
    }

    /// <summary>Leaves <paramref name="keep"/> the only active admin key (earlier tests may have left others).</summary>
    private static async Task RevokeAdminKeysExceptAsync(HttpClient admin, Guid keep)
    {
        foreach (var other in await ActiveAdminKeysAsync(admin))
        {
            if (other != keep)
            {
                Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{other}")).StatusCode);
            }
        }
    }

    private static async Task<List<Guid>> ActiveAdminKeysAsync(HttpClient client)
    {
        using var list = JsonDocument.Parse(await client.GetStringAsync("/api/v1/keys"));
        return [.. list.RootElement.GetProperty("keys").EnumerateArray()
            .Where(key => key.GetProperty("state").GetString() == "active"
                && key.GetProperty("scopes").EnumerateArray().Any(scope => scope.GetString() == Scopes.Admin))
            .Select(key => key.GetProperty("id").GetGuid())];
    }

    private async Task WaitForOrchestratorLogAsync(string text)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if ((await hyperion.LogLinesAsync("orchestrator")).Any(line => line.Content.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }
            await Task.Delay(200);
        }
        Assert.Fail($"the orchestrator did not log '{text}'");
    }
}
