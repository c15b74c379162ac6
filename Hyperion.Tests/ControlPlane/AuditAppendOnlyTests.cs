using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Npgsql;

namespace Hyperion.Tests.ControlPlane;

/// <summary>The audit log cannot be edited or emptied, not even by a client with full database rights.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class AuditAppendOnlyTests(HyperionAppFixture hyperion)
{
    [Theory]
    [InlineData("UPDATE audit_log SET actor = 'someone else'", "UPDATE")]
    [InlineData("DELETE FROM audit_log", "DELETE")]
    [InlineData("TRUNCATE audit_log", "TRUNCATE")]
    public async Task Changing_or_removing_entries_fails(string sql, string operation)
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using (var append = new NpgsqlCommand("INSERT INTO audit_log (actor, action) VALUES ('test', 'test.appended')", connection))
        {
            await append.ExecuteNonQueryAsync();
        }
        var before = await CountAsync(connection);

        await using var change = new NpgsqlCommand(sql, connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => change.ExecuteNonQueryAsync());

        Assert.Contains($"audit_log is append-only: {operation} is not allowed", error.MessageText);
        Assert.Equal(before, await CountAsync(connection));
        await using var unchanged = new NpgsqlCommand("SELECT count(*) FROM audit_log WHERE actor = 'someone else'", connection);
        Assert.Equal(0L, await unchanged.ExecuteScalarAsync());
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection)
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM audit_log", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
