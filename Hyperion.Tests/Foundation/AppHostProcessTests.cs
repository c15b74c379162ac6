using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Tests.TestSupport;

namespace Hyperion.Tests.Foundation;

/// <summary>The AppHost as users run it (<c>./build.sh run</c> starts the built AppHost): a process that Ctrl+C or SIGTERM stops, DCP and all.</summary>
[Collection(AppHostProcessCollection.Name)]
public sealed class AppHostProcessTests : IDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(4);
    private readonly TemporaryDirectory _state = new("hyperion-apphost");

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task Stopping_the_AppHost_leaves_no_process_behind_and_a_restart_keeps_the_data()
    {
        var gatewayPort = FreePort();
        string adminKey;
        await using (var first = RunningAppHost.Start(_state.Path, gatewayPort))
        {
            // `run` deploys the digits sample: once it says so, the model answers through the gateway.
            await first.WaitForOutputAsync("Sample model 'digits' is deployed");
            await first.WaitForOutputAsync("Login to the dashboard at http://127.0.0.1:");
            adminKey = File.ReadAllText(Path.Combine(_state.Path, "admin-key")).Trim();
            using var gateway = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}") };
            gateway.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
            using var request = new StringContent(File.ReadAllText(TestPaths.Sample("digits", "request.json")), Encoding.UTF8, "application/json");
            using var answer = await gateway.PostAsync("/v2/models/digits/infer", request);
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, body);
            var labels = JsonNode.Parse(body)!["outputs"]!.AsArray().Single(output => output!["name"]!.GetValue<string>() == "label")!["data"]!;
            Assert.Equal(JsonNode.Parse(File.ReadAllText(TestPaths.Sample("digits", "expected.json")))!["label"]!.ToJsonString(), labels.ToJsonString());

            // The dashboard the AppHost printed answers.
            using var dashboard = new HttpClient { BaseAddress = first.DashboardUrl };
            Assert.Equal(HttpStatusCode.OK, (await dashboard.GetAsync("/login")).StatusCode);

            await first.StopAsync(signal: 15); // SIGTERM
        }

        await using var second = RunningAppHost.Start(_state.Path, gatewayPort);
        // The admin key and the sample live in PostgreSQL and the artifact store: both are still there, so the
        // sample is found as it was, and the key written by the first run still opens the control plane.
        await second.WaitForOutputAsync("Sample model 'digits' is deployed");
        Assert.DoesNotContain("could not be deployed", second.Output, StringComparison.Ordinal);
        Assert.Equal(adminKey, File.ReadAllText(Path.Combine(_state.Path, "admin-key")).Trim());
        using (var gateway = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}") })
        {
            gateway.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
            var versions = JsonNode.Parse(await gateway.GetStringAsync("/api/v1/models/digits"))!;
            Assert.Equal(1, versions["version_count"]!.GetValue<int>());
        }
        await second.StopAsync(signal: 2); // Ctrl+C
    }

    [Fact]
    public async Task A_missing_binary_stops_the_AppHost_with_the_install_command()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_state.Path, "empty")).FullName;
        using var process = RunningAppHost.Launch(_state.Path, FreePort(), environment: new() { ["PATH"] = $"{empty}:{Path.GetDirectoryName(Environment.ProcessPath)}" }, "--Hyperion:StateDirectory=" + _state.Path);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.Equal(1, process.ExitCode);
        var message = await stderr;
        Assert.Contains("redis-server (needed by 'cache'): not found on PATH", message);
        Assert.Contains("sudo apt-get install -y redis-server", message);
    }

    private static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>One AppHost process and what it printed.</summary>
    private sealed class RunningAppHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly string _stateDirectory;

        private RunningAppHost(Process process, string stateDirectory)
        {
            _process = process;
            _stateDirectory = stateDirectory;
        }

        public Uri DashboardUrl { get; private init; } = null!;

        public static Process Launch(string stateDirectory, int gatewayPort, Dictionary<string, string>? environment = null, params string[] args)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(TestPaths.AppHostAssembly);
            start.ArgumentList.Add($"--Hyperion:StateDirectory={stateDirectory}");
            start.ArgumentList.Add($"--Hyperion:GatewayPort={gatewayPort}");
            start.ArgumentList.Add("--Hyperion:InferenceReplicas=1");
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }
            foreach (var (key, value) in environment ?? [])
            {
                start.Environment[key] = value;
            }
            return Process.Start(start)!;
        }

        public static RunningAppHost Start(string stateDirectory, int gatewayPort)
        {
            // A dashboard of its own on free ports, so a developer's running graph (18888) is left alone.
            var dashboard = new Uri($"http://127.0.0.1:{FreePort()}");
            var process = Launch(stateDirectory, gatewayPort, new()
            {
                ["ASPNETCORE_URLS"] = dashboard.ToString().TrimEnd('/'),
                ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort()}",
            });
            var appHost = new RunningAppHost(process, stateDirectory) { DashboardUrl = dashboard };
            process.OutputDataReceived += (_, e) => appHost.Append(e.Data);
            process.ErrorDataReceived += (_, e) => appHost.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return appHost;
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
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

        /// <summary>Signals the AppHost like a terminal would, then checks that nothing it started survives: DCP, the services, Redis, PostgreSQL.</summary>
        public async Task StopAsync(int signal)
        {
            var started = ProcessInspector.FindByEnvironmentOrCommandLine(_stateDirectory);
            Assert.True(started.Count >= 4, $"expected Redis, PostgreSQL and the services to run with {_stateDirectory}; found:{Environment.NewLine}{string.Join(Environment.NewLine, started)}");

            Assert.Equal(0, NativeSignal.Send(_process.Id, signal));
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);

            Assert.True(_process.ExitCode == 0, $"exit code {_process.ExitCode}. Output:{Environment.NewLine}{Output}");
            // DCP runs beside the AppHost and stops what it started once the AppHost is gone: give it a moment.
            var left = ProcessInspector.FindByEnvironmentOrCommandLine(_stateDirectory).Concat(ProcessInspector.FindByCommandLine($"--monitor {_process.Id}")).ToList();
            for (var waited = Stopwatch.StartNew(); left.Count > 0 && waited.Elapsed < TimeSpan.FromSeconds(60);)
            {
                await Task.Delay(500);
                left = [.. ProcessInspector.FindByEnvironmentOrCommandLine(_stateDirectory), .. ProcessInspector.FindByCommandLine($"--monitor {_process.Id}")];
            }
            Assert.Empty(left);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                // A failed test: end the AppHost and whatever it started, so nothing outlives the test run.
                NativeSignal.Send(_process.Id, 15);
                if (!_process.WaitForExit(TimeSpan.FromSeconds(60)))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}

/// <summary>
/// Runs alone, after the graphs the other collections start: a whole AppHost with its own DCP and dashboard, started
/// twice, next to four other graphs on two cores once waited more than four minutes for DCP.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppHostProcessCollection
{
    public const string Name = "AppHost process";
}
