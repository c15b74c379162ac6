using Hyperion.Orchestrator.Captures;
using Hyperion.Tests.Graph;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using System.Diagnostics.Metrics;
using static Hyperion.Tests.ControlPlane.DeploymentTestSupport;

namespace Hyperion.Tests.Capture;

/// <summary>Old captures expire by their deployment's retention_days (7 without monitoring), swept on the graph's database.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class CaptureRetentionTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Captures_older_than_the_model_s_retention_are_deleted_and_the_rest_kept()
    {
        using var api = hyperion.CreateApiClient();
        var monitored = await RegisterDigitsAsync(api, "retention", versions: 1);
        await PutOkAsync(api, monitored, """{"stable": 1, "monitoring": {"retention_days": 1}}""");
        var unmonitored = await RegisterDigitsAsync(api, "retention-default", versions: 1);

        await using var dataSource = NpgsqlDataSource.Create(hyperion.GetConnectionString("hyperion"));
        var prefix = Guid.NewGuid().ToString("N");
        await InsertAsync(dataSource, monitored, $"{prefix}-1h", TimeSpan.FromHours(1));
        await InsertAsync(dataSource, monitored, $"{prefix}-2d", TimeSpan.FromDays(2));
        await InsertAsync(dataSource, unmonitored, $"{prefix}-2d-default", TimeSpan.FromDays(2));
        await InsertAsync(dataSource, unmonitored, $"{prefix}-8d-default", TimeSpan.FromDays(8));

        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var sweeper = new CaptureRetentionSweeper(new CaptureStore(dataSource), new CaptureMetrics(services.GetRequiredService<IMeterFactory>()),
            Options.Create(new CaptureOptions()), TimeProvider.System, NullLogger<CaptureRetentionSweeper>.Instance);
        Assert.True(await sweeper.SweepAsync(CancellationToken.None) >= 2);

        await using var command = dataSource.CreateCommand("SELECT request_id FROM captures WHERE request_id LIKE @prefix ORDER BY request_id");
        command.Parameters.AddWithValue("prefix", prefix + "%");
        var kept = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            kept.Add(reader.GetString(0));
        }
        Assert.Equal([$"{prefix}-1h", $"{prefix}-2d-default"], kept);
    }

    private static async Task InsertAsync(NpgsqlDataSource dataSource, string model, string requestId, TimeSpan age)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO captures (model, version, arm, request_id, captured_at, rows, inputs, outputs)
            VALUES (@model, 1, 'stable', @request_id, now() - @age, 1, '{}', '{}')
            """);
        command.Parameters.AddWithValue("model", model);
        command.Parameters.AddWithValue("request_id", requestId);
        command.Parameters.AddWithValue("age", age);
        await command.ExecuteNonQueryAsync();
    }
}
