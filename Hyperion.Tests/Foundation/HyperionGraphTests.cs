using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Npgsql;

namespace Hyperion.Tests.Foundation;

/// <summary>The graph the AppHost declares, running on real PostgreSQL and Redis.</summary>
[Collection(HyperionAppCollection.Name)]
public sealed class HyperionGraphTests(HyperionAppFixture hyperion)
{
    [Fact]
    public async Task Every_resource_is_healthy_and_the_gateway_answers_health()
    {
        Assert.All(hyperion.Snapshots(), s => Assert.True(s.IsHealthy, $"{s.Name} is {s.State}"));

        using var gateway = hyperion.CreateHttpClient("gateway");
        using var response = await gateway.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", health.RootElement.GetProperty("checks").GetProperty("cache").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Resources_start_in_dependency_order()
    {
        var started = hyperion.BootSnapshots.ToDictionary(s => s.Name, s => s.StartedAt);

        // A service starts only after what it waits for was healthy, so after it started.
        Assert.True(started["orchestrator"] > started["pg"]);
        Assert.True(started["orchestrator"] > started["cache"]);
        for (var replica = 0; replica < hyperion.InferenceReplicas; replica++)
        {
            Assert.True(started[$"inference-{replica}"] > started["orchestrator"]);
            Assert.True(started["gateway"] > started[$"inference-{replica}"]);
        }

        // The orchestrator applied its migrations before it reported healthy: the database was there.
        await using var connection = new NpgsqlConnection(hyperion.GetConnectionString("hyperion"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM schema_migrations WHERE version = 1", connection);
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public void Services_receive_configuration_through_Aspire_keys()
    {
        var replicas = hyperion.InferenceReplicas;
        var orchestrator = EnvironmentOf("orchestrator");
        Assert.Equal(hyperion.GetConnectionString("hyperion"), orchestrator["ConnectionStrings__hyperion"]);
        Assert.Equal(hyperion.GetConnectionString("cache"), orchestrator["ConnectionStrings__cache"]);
        Assert.Equal("orchestrator", orchestrator["OTEL_SERVICE_NAME"]);
        Assert.Equal(hyperion.GetEndpoint("orchestrator").ToString().TrimEnd('/'), orchestrator["ASPNETCORE_URLS"]);
        Assert.Contains("Database=hyperion", orchestrator["ConnectionStrings__hyperion"]);
        Assert.Contains("Username=postgres", orchestrator["ConnectionStrings__hyperion"]);

        var gateway = EnvironmentOf("gateway");
        Assert.False(gateway.ContainsKey("ConnectionStrings__hyperion")); // only the orchestrator touches PostgreSQL
        Assert.Equal(hyperion.GetConnectionString("cache"), gateway["ConnectionStrings__cache"]);
        Assert.Equal(hyperion.GetEndpoint("orchestrator").ToString().TrimEnd('/'), gateway["services__orchestrator__http__0"]);
        for (var replica = 0; replica < replicas; replica++)
        {
            Assert.Equal(hyperion.GetEndpoint("inference", "http", replica).ToString().TrimEnd('/'), gateway[$"services__inference__http__{replica}"]);
            Assert.Equal(hyperion.GetEndpoint("inference", "grpc", replica).ToString().TrimEnd('/'), gateway[$"services__inference__grpc__{replica}"]);
            Assert.Equal(gateway[$"services__inference__http__{replica}"], orchestrator[$"services__inference__http__{replica}"]);
        }
        Assert.False(gateway.ContainsKey($"services__inference__http__{replicas}"));

        for (var replica = 0; replica < replicas; replica++)
        {
            var inference = EnvironmentOf($"inference-{replica}");
            Assert.Equal($"inference-{replica}", inference["Inference__ReplicaId"]);
            // Named after its resource, as the Aspire dashboard matches telemetry to the resource it shows.
            Assert.Equal($"inference-{replica}", inference["OTEL_SERVICE_NAME"]);
            Assert.Equal(hyperion.GetEndpoint("inference", "grpc", replica).ToString().TrimEnd('/'), inference["Inference__GrpcUrl"]);
            Assert.Equal(Path.Combine(hyperion.StateDirectory, "inference", replica.ToString(), "models"), inference["Inference__ModelRepository"]);
            Assert.True(Directory.Exists(inference["Inference__ModelRepository"]));
            Assert.Equal(hyperion.GetEndpoint("orchestrator").ToString().TrimEnd('/'), inference["services__orchestrator__http__0"]);
        }
    }

    [Fact]
    public async Task Gateway_readiness_follows_Redis_while_liveness_stays_up()
    {
        using var gateway = hyperion.CreateHttpClient("gateway");
        await hyperion.StopAsync("cache");
        try
        {
            Assert.True(hyperion.Snapshot("cache").IsStopped);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusOfAsync(gateway, "/health", HttpStatusCode.ServiceUnavailable));
            Assert.Equal(HttpStatusCode.OK, (await gateway.GetAsync("/alive")).StatusCode);
        }
        finally
        {
            await hyperion.StartAsync("cache");
        }
        await hyperion.WaitForHealthyAsync("cache");
        Assert.Equal(HttpStatusCode.OK, await StatusOfAsync(gateway, "/health", HttpStatusCode.OK));
        await hyperion.WaitForAllHealthyAsync();
    }

    [Fact]
    public async Task A_killed_inference_replica_is_reported_and_comes_back_healthy()
    {
        var before = hyperion.Snapshot("inference-0");
        var pid = hyperion.ProcessId("inference-0")!.Value;

        Process.GetProcessById(pid).Kill();

        await hyperion.WaitForAsync("inference-0", s => s.Restarts == before.Restarts + 1 && s.IsHealthy,
            HyperionAppFixture.StartTimeout, "restarted and healthy");
        var after = hyperion.Snapshot("inference-0");
        Assert.NotEqual(pid, after.Pid);
        Assert.Contains(hyperion.AppHostLog.Lines, line => line.Contains("inference-0 exited unexpectedly with code 137", StringComparison.Ordinal));
        using var replica = hyperion.CreateHttpClient("inference", replica: 0);
        Assert.Equal(HttpStatusCode.OK, (await replica.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Each_resource_keeps_its_output_for_the_dashboard()
    {
        var pg = await hyperion.LogLinesAsync("pg");
        Assert.Contains(pg, line => line.Content.Contains("database system is ready to accept connections", StringComparison.Ordinal));
        Assert.NotEmpty(await hyperion.LogLinesAsync("gateway"));
    }

    [Fact]
    public async Task The_dashboard_command_deploys_the_sample_which_then_answers_through_the_gateway()
    {
        var first = await hyperion.App.ResourceCommands.ExecuteCommandAsync("orchestrator", Hyperion.AppHost.Samples.OperatorCommands.DeploySampleCommand);
        Assert.True(first.Success, first.Message);
        // Idempotent: a second press finds everything there.
        var second = await hyperion.App.ResourceCommands.ExecuteCommandAsync("orchestrator", Hyperion.AppHost.Samples.OperatorCommands.DeploySampleCommand);
        Assert.True(second.Success, second.Message);

        using var gateway = hyperion.CreateApiClient("gateway");
        using var request = new StringContent(File.ReadAllText(TestPaths.Sample("digits", "request.json")), System.Text.Encoding.UTF8, "application/json");
        using var answer = await gateway.PostAsync("/v2/models/digits/infer", request);
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.OK, body);
        var labels = System.Text.Json.Nodes.JsonNode.Parse(body)!["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]!;
        Assert.Equal(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(TestPaths.Sample("digits", "expected.json")))!["label"]!.ToJsonString(), labels.ToJsonString());
    }

    private IReadOnlyDictionary<string, string> EnvironmentOf(string instance) =>
        ProcessInspector.ReadEnvironment(hyperion.ProcessId(instance) ?? throw new InvalidOperationException($"{instance} is not running"));

    /// <summary>Polls until the status is the expected one (health checks are cached for a moment) or 30 s pass.</summary>
    private static async Task<HttpStatusCode> StatusOfAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync(path);
            if (response.StatusCode == expected || DateTime.UtcNow > deadline)
            {
                return response.StatusCode;
            }
            await Task.Delay(200);
        }
    }
}
