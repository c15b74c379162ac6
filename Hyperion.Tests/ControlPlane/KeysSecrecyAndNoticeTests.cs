using System.Net;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Npgsql;

namespace Hyperion.Tests.ControlPlane;

/// <summary>Where a key may and may not end up: gateways hear of its revocation; logs and the database never hold it.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class KeysSecrecyAndNoticeTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Revoking_a_key_publishes_its_hash_to_gateways_within_seconds()
    {
        await using var subscriber = await KeysRevokedChannel.SubscribeAsync(hyperion.GetConnectionString("cache"));
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer]);

        using var admin = hyperion.CreateApiClient();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{issued.Id}")).StatusCode);

        Assert.True(await subscriber.ReceivesAsync(ApiKeyFormat.HashHex(issued.Key), TimeSpan.FromSeconds(5)),
            $"no notice with the key's hash on {ControlPlaneChannels.KeyRevoked}");
    }

    [Fact]
    public async Task The_database_holds_only_the_hash_and_prefix_of_a_key()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Deploy]);

        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using (var row = new NpgsqlCommand("SELECT key_hash, prefix FROM api_keys WHERE id = $1", connection))
        {
            row.Parameters.Add(new NpgsqlParameter { Value = issued.Id });
            await using var reader = await row.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(ApiKeyFormat.Hash(issued.Key), reader.GetFieldValue<byte[]>(0));
            Assert.Equal(ApiKeyFormat.PrefixOf(issued.Key), reader.GetString(1));
        }
        // Every row of every table that could hold it, as text.
        await using var everything = new NpgsqlCommand("""
            SELECT coalesce((SELECT string_agg(row_to_json(k)::text, E'\n') FROM api_keys k), '')
                || coalesce((SELECT string_agg(row_to_json(a)::text, E'\n') FROM audit_log a), '')
            """, connection);
        var dump = (string)(await everything.ExecuteScalarAsync())!;
        Assert.Contains(issued.Id.ToString(), dump);
        Assert.DoesNotContain(issued.Key, dump);
        Assert.DoesNotContain(issued.Key[ApiKeyFormat.PrefixLength..], dump);
    }

    [Fact]
    public async Task The_orchestrator_log_never_holds_a_key()
    {
        var issued = await hyperion.CreateKeyAsync([Scopes.Infer]);
        using (var client = hyperion.CreateApiClient(key: issued.Key))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/whoami")).StatusCode);
            using var admin = hyperion.CreateApiClient();
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/keys/{issued.Id}")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/whoami")).StatusCode);
        }

        // The log does record the key's life (by id), which also shows it was read after the calls were logged.
        var log = "";
        for (var attempt = 0; attempt < 50 && !log.Contains($"Key {issued.Id} revoked", StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(200);
            log = await ReadOrchestratorLogAsync();
        }
        Assert.Contains($"Key {issued.Id} (", log);
        Assert.Contains($"Key {issued.Id} revoked", log);
        Assert.DoesNotContain(issued.Key, log);
        Assert.DoesNotContain(issued.Key[ApiKeyFormat.PrefixLength..], log);
        Assert.DoesNotContain(hyperion.AdminKey, log);
        Assert.DoesNotContain(ApiKeyFormat.HashHex(issued.Key), log);
    }

    /// <summary>The orchestrator's console log, as the dashboard shows it.</summary>
    private async Task<string> ReadOrchestratorLogAsync() =>
        string.Join('\n', (await hyperion.LogLinesAsync("orchestrator")).Select(line => line.Content));
}
