using Hyperion.Orchestrator.Persistence;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Hyperion.Tests.Foundation;

/// <summary>The orchestrator's migration runner against the graph's PostgreSQL, each test on a fresh database.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class MigrationTests(HyperionAppFixture hyperion) : IAsyncLifetime
{
    private readonly string _database = $"migrations_{Guid.NewGuid():N}";
    private readonly List<NpgsqlDataSource> _dataSources = [];

    [Fact]
    public async Task Replicas_starting_together_apply_each_migration_exactly_once()
    {
        var migrations = Migration.LoadAll(typeof(MigrationRunner).Assembly);
        Assert.NotEmpty(migrations);

        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            MigrationRunner.ApplyAsync(NewDataSource(), migrations, NullLogger.Instance, CancellationToken.None)));

        Assert.Equal(migrations.Select(m => m.Version), applied.SelectMany(a => a).Order());
        Assert.Equal((long)migrations.Count, await ScalarAsync("SELECT count(*) FROM schema_migrations"));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM audit_log"));
        Assert.Empty(await MigrationRunner.ApplyAsync(NewDataSource(), migrations, NullLogger.Instance, CancellationToken.None));
    }

    [Fact]
    public async Task An_applied_migration_that_was_edited_stops_the_start_up()
    {
        var migrations = Migration.LoadAll(typeof(MigrationRunner).Assembly);
        await MigrationRunner.ApplyAsync(NewDataSource(), migrations, NullLogger.Instance, CancellationToken.None);
        var edited = migrations.Select(m => m.Version == 1 ? m with { Sql = m.Sql + "\n-- edited" } : m).ToArray();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            MigrationRunner.ApplyAsync(NewDataSource(), edited, NullLogger.Instance, CancellationToken.None));

        Assert.Contains("0001_", error.Message);
        Assert.Contains("was changed after it was applied", error.Message);
    }

    public async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("pg"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", connection);
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("pg"));
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private NpgsqlDataSource NewDataSource()
    {
        var dataSource = NpgsqlDataSource.Create($"{hyperion.GetConnectionString("pg")};Database={_database}");
        _dataSources.Add(dataSource);
        return dataSource;
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var command = NewDataSource().CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }
}
