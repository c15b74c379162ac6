using Hyperion.AppHost.Hosting;
using Hyperion.Tests.Hosting;

namespace Hyperion.Tests.Foundation;

/// <summary>The hosting layer itself, on small executables so that each test is cheap.</summary>
public sealed class HostingTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly TemporaryDirectory _state = new("hyperion-hosting");
    private readonly InMemoryLoggerProvider _appHostLog = new();

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task A_resource_starts_only_after_what_it_waits_for_is_healthy()
    {
        var gate = Path.Combine(_state.Path, "gate");
        var marker = Path.Combine(_state.Path, "downstream-started");
        var builder = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog);
        var upstream = builder.AddExecutable("upstream", "sleep", _state.Path, "600")
            .WithHealthCheck((_, _) => Task.FromResult(File.Exists(gate)));
        builder.AddExecutable("downstream", "sh", _state.Path, "-c", $"touch '{marker}'; exec sleep 600")
            .WaitFor(upstream);
        await using var app = builder.Build();

        await app.StartAsync();
        await app.WaitForAsync("upstream", s => s[0].State == ResourceState.Running, s_timeout, "running");
        await Task.Delay(TimeSpan.FromSeconds(1)); // upstream runs but is not healthy: give downstream every chance to start too early

        Assert.Equal(ResourceState.Waiting, app.ResourceNotifications.GetSnapshots("downstream").Single().State);
        Assert.False(File.Exists(marker));

        await File.WriteAllTextAsync(gate, "");
        await app.WaitForHealthyAsync("downstream", s_timeout);
        await WaitUntilAsync(() => File.Exists(marker));
    }

    [Fact]
    public async Task A_crashed_resource_is_reported_with_its_exit_code_and_output_and_restarted()
    {
        var crashedOnce = Path.Combine(_state.Path, "crashed-once");
        var builder = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog);
        builder.AddExecutable("flaky", "sh", _state.Path, "-c",
            $"if [ -f '{crashedOnce}' ]; then exec sleep 600; fi; touch '{crashedOnce}'; echo 'disk on fire' >&2; exit 3");
        await using var app = builder.Build();

        await app.StartAsync();
        await app.WaitForAsync("flaky", s => s[0].Restarts == 1 && s[0].State == ResourceState.Healthy, s_timeout, "restarted once and healthy");

        var snapshot = app.ResourceNotifications.GetSnapshots("flaky").Single();
        Assert.Equal(3, snapshot.LastExitCode);
        var report = Assert.Single(_appHostLog.Lines, l => l.Contains("flaky exited unexpectedly with code 3", StringComparison.Ordinal));
        Assert.Contains("disk on fire", report); // the last output lines come with the report
        Assert.Contains(app.GetLog("flaky").Tail(10), l => l.IsError && l.Text == "disk on fire");
        Assert.Contains("disk on fire", await File.ReadAllTextAsync(Path.Combine(_state.Path, "logs", "flaky.log")));
    }

    [Fact]
    public async Task Missing_binaries_fail_fast_with_the_install_command()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_state.Path, "empty")).FullName;
        var builder = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog, new Dictionary<string, string?>
        {
            ["AppHost:SearchPath"] = empty,
            ["AppHost:PostgresInstallRoot"] = empty,
        });
        builder.AddRedis("cache");
        builder.AddPostgres("pg").AddDatabase("db");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<MissingPrerequisiteException>(() => app.StartAsync());

        Assert.Contains("redis-server (needed by 'cache')", error.Message);
        Assert.Contains("initdb, postgres (needed by 'pg')", error.Message);
        Assert.Contains("sudo apt-get install -y redis-server postgresql", error.Message);
        Assert.All(app.ResourceNotifications.GetSnapshots(), s => Assert.Equal(ResourceState.Pending, s.State));
        Assert.False(Directory.Exists(Path.Combine(_state.Path, "logs")));
    }

    [Fact]
    public async Task Replicas_get_their_own_port_and_referencing_resources_get_one_service_entry_per_replica()
    {
        var builder = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog);
        var web = builder.AddExecutable("web", "sleep", _state.Path, "600")
            .WithHttpEndpoint(env: "PORT")
            .WithReplicas(2)
            .WithEnvironment(context => context.EnvironmentVariables["REPLICA"] = context.ReplicaIndex.ToString());
        builder.AddExecutable("client", "sleep", _state.Path, "600").WithReference(web).WaitFor(web);
        await using var app = builder.Build();

        await app.StartAsync();
        await app.WaitForAllHealthyAsync(s_timeout);

        var client = await ProcessInspector.ReadEnvironmentWithAsync(app.GetProcessId("client")!.Value, "services__web__http__0");
        for (var replica = 0; replica < 2; replica++)
        {
            var url = app.GetEndpoint("web", replica: replica);
            Assert.Equal($"http://127.0.0.1:{url.Port}", client[$"services__web__http__{replica}"]);
            var server = await ProcessInspector.ReadEnvironmentWithAsync(app.GetProcessId($"web-{replica}")!.Value, "PORT");
            Assert.Equal(url.Port.ToString(), server["PORT"]);
            Assert.Equal(replica.ToString(), server["REPLICA"]);
        }
        Assert.NotEqual(app.GetEndpoint("web", replica: 0).Port, app.GetEndpoint("web", replica: 1).Port);
        Assert.False(client.ContainsKey("services__web__http__2"));
    }

    [Fact]
    public void A_WaitFor_cycle_is_rejected_when_the_graph_is_built()
    {
        var builder = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog);
        var a = builder.AddExecutable("a", "sleep", _state.Path, "600");
        var b = builder.AddExecutable("b", "sleep", _state.Path, "600").WaitFor(a);
        a.WaitFor(b);

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains("cycle", error.Message);
        Assert.Contains("a -> b -> a", error.Message);
    }

    [Fact]
    public async Task Processes_left_by_a_crashed_AppHost_are_stopped_at_the_next_start()
    {
        var orphan = StartDetached("sleep", "600");
        var stranger = StartDetached("sleep", "600");
        try
        {
            var pids = Directory.CreateDirectory(Path.Combine(_state.Path, "pids")).FullName;
            await File.WriteAllTextAsync(Path.Combine(pids, "orphan.pid"), $"{orphan.Id} {PidFiles.ReadStartTime(orphan.Id)}\n");
            // Same pid file format, wrong start time: the pid was reused by an unrelated process, which must be left alone.
            await File.WriteAllTextAsync(Path.Combine(pids, "reused.pid"), $"{stranger.Id} 1\n");

            await using var app = DistributedApplicationTestingBuilder.Create(_state.Path, _appHostLog).Build();
            await app.StartAsync();

            await WaitUntilAsync(() => !ProcessInspector.IsAlive(orphan.Id));
            Assert.True(ProcessInspector.IsAlive(stranger.Id));
            Assert.Empty(Directory.GetFiles(pids));
            Assert.Contains(_appHostLog.Lines, l => l.Contains($"orphan (pid {orphan.Id})", StringComparison.Ordinal));
        }
        finally
        {
            stranger.Kill();
            orphan.Kill();
        }
    }

    private static System.Diagnostics.Process StartDetached(string command, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("setsid") { UseShellExecute = false };
        start.ArgumentList.Add(command);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return System.Diagnostics.Process.Start(start)!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not become true in time.");
            await Task.Delay(50);
        }
    }
}
