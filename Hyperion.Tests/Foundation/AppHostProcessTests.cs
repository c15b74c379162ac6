using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.AppHost.Hosting;
using Hyperion.Tests.Hosting;
using Npgsql;

namespace Hyperion.Tests.Foundation;

/// <summary>The AppHost as users run it: a process that Ctrl+C or SIGTERM stops.</summary>
public sealed partial class AppHostProcessTests : IDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(3);
    private readonly TemporaryDirectory _state = new("hyperion-apphost");

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task Stopping_the_AppHost_leaves_no_process_behind_and_a_restart_keeps_the_data()
    {
        await using (var first = await RunningAppHost.StartAsync(_state.Path))
        {
            using var gateway = new HttpClient { BaseAddress = first.UrlOf("gateway") };
            Assert.Equal(HttpStatusCode.OK, (await gateway.GetAsync("/health")).StatusCode);

            // `run` deploys the digits sample: once it says so, the model answers through the gateway.
            await first.WaitForOutputAsync("Sample model 'digits' is deployed");
            gateway.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Bearer", File.ReadAllText(Path.Combine(_state.Path, "admin-key")).Trim());
            using var request = new StringContent(File.ReadAllText(TestPaths.Sample("digits", "request.json")), Encoding.UTF8, "application/json");
            using var answer = await gateway.PostAsync("/v2/models/digits/infer", request);
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, body);
            var labels = JsonNode.Parse(body)!["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]!;
            Assert.Equal(JsonNode.Parse(File.ReadAllText(TestPaths.Sample("digits", "expected.json")))!["label"]!.ToJsonString(), labels.ToJsonString());
            await using var connection = new NpgsqlConnection(ConnectionString(first));
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO audit_log (actor, action) VALUES ('test', 'survives-restart')", connection);
            await insert.ExecuteNonQueryAsync();

            await first.StopAsync(ProcessSignal.Terminate);
        }

        await using var second = await RunningAppHost.StartAsync(_state.Path);
        // Deploying the sample again finds it there and changes nothing.
        await second.WaitForOutputAsync("Sample model 'digits' is deployed");
        Assert.DoesNotContain("Deploying the sample model failed", second.Output, StringComparison.Ordinal);
        await using (var connection = new NpgsqlConnection(ConnectionString(second)))
        {
            await connection.OpenAsync();
            await using var select = new NpgsqlCommand("SELECT count(*) FROM audit_log WHERE action = 'survives-restart'", connection);
            Assert.Equal(1L, await select.ExecuteScalarAsync());
        }
        await second.StopAsync(ProcessSignal.Interrupt); // Ctrl+C
    }

    [Fact]
    public async Task A_missing_binary_stops_the_AppHost_with_the_install_command()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_state.Path, "empty")).FullName;
        using var process = RunningAppHost.Launch(_state.Path, $"--AppHost:SearchPath={empty}", $"--AppHost:PostgresInstallRoot={empty}");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Contains("sudo apt-get install -y redis-server postgresql", await stderr);
    }

    private string ConnectionString(RunningAppHost appHost)
    {
        var secrets = JsonNode.Parse(File.ReadAllText(Path.Combine(_state.Path, "secrets.json")))!;
        return $"Host=127.0.0.1;Port={appHost.UrlOf("pg").Port};Username=postgres;Password={secrets["Parameters"]!["pg-password"]};Database=hyperion";
    }

    /// <summary>One AppHost process, its printed resource table, and the process groups it started.</summary>
    private sealed partial class RunningAppHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output;
        private readonly string _stateDirectory;

        private RunningAppHost(Process process, StringBuilder output, string stateDirectory)
        {
            _process = process;
            _output = output;
            _stateDirectory = stateDirectory;
        }

        public static Process Launch(string stateDirectory, params string[] args)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Hyperion.AppHost.dll"));
            start.ArgumentList.Add($"--AppHost:StateDirectory={stateDirectory}");
            start.ArgumentList.Add("--AppHost:DashboardUrl=http://127.0.0.1:0");
            start.ArgumentList.Add("--Hyperion:GatewayPort=0");
            start.ArgumentList.Add("--Hyperion:InferenceReplicas=1");
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }
            return Process.Start(start)!;
        }

        public static async Task<RunningAppHost> StartAsync(string stateDirectory)
        {
            var output = new StringBuilder();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = Launch(stateDirectory);
            process.OutputDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
                if (e.Data == "Press Ctrl+C to stop.")
                {
                    ready.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var appHost = new RunningAppHost(process, output, stateDirectory);
            if (await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(s_startTimeout)) != ready.Task)
            {
                await appHost.DisposeAsync();
                Assert.Fail($"The AppHost did not print its resource table in time. Output:{Environment.NewLine}{appHost.Output}");
            }
            return appHost;
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task WaitForOutputAsync(string text)
        {
            var started = Stopwatch.GetTimestamp();
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                if (Stopwatch.GetElapsedTime(started) > s_startTimeout || _process.HasExited)
                {
                    Assert.Fail($"The AppHost did not print '{text}'. Output:{Environment.NewLine}{Output}");
                }
                await Task.Delay(200);
            }
        }

        /// <summary>The first URL in the resource table's row for <paramref name="instance"/>.</summary>
        public Uri UrlOf(string instance)
        {
            var row = TableRow().Matches(Output).First(m => m.Groups["name"].Value == instance);
            return new Uri(row.Groups["url"].Value);
        }

        /// <summary>Signals the AppHost like a terminal would, then checks that nothing it started survives.</summary>
        public async Task StopAsync(ProcessSignal signal)
        {
            var groups = Directory.GetFiles(Path.Combine(_stateDirectory, "pids"), "*.pid")
                .Select(f => int.Parse(File.ReadAllText(f).Split(' ')[0]))
                .ToArray();
            Assert.Equal(5, groups.Length); // cache, pg, orchestrator, inference, gateway

            NativeMethods.Signal(_process.Id, signal);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);

            Assert.True(_process.ExitCode == 0, $"exit code {_process.ExitCode}. Output:{Environment.NewLine}{Output}");
            Assert.Contains("All resources stopped", Output);
            Assert.Empty(ProcessInspector.FindInGroups(groups));
            Assert.Empty(ProcessInspector.FindByCommandLine(_stateDirectory));
            Assert.Empty(Directory.GetFiles(Path.Combine(_stateDirectory, "pids")));
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                // A failed test: end the AppHost and whatever it started, so nothing outlives the test run.
                NativeMethods.Signal(_process.Id, ProcessSignal.Terminate);
                if (!_process.WaitForExit(TimeSpan.FromSeconds(60)))
                {
                    _process.Kill();
                }
            }
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        [GeneratedRegex(@"^  (?<name>[a-z0-9-]+)\s+\w+\s+(?<url>(http|tcp)://127\.0\.0\.1:\d+)", RegexOptions.Multiline)]
        private static partial Regex TableRow();
    }
}
