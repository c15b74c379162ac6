using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hyperion.Benchmarks.Hosting;
using Hyperion.Benchmarks.InProcess;
using Hyperion.Benchmarks.Jobs;
using Hyperion.Benchmarks.Load;
using Hyperion.Benchmarks.Pipelines;
using Hyperion.Benchmarks.Reporting;

namespace Hyperion.Benchmarks;

/// <summary>
/// One run: generate the models, start the bare-Kestrel ceiling and the standalone inference
/// server twice (batching off and on), then measure. The servers run side by side and each
/// step drives them one after another at the same concurrency, target concurrencies first, and
/// in-process ONNX Runtime is measured just before the heavy model's steps: on a shared
/// two-core machine other work comes and goes, and adjacent measurements keep it out of the
/// ratios as far as possible.
/// </summary>
public sealed class BenchmarkRunner(BenchmarkOptions options)
{
    private const string SmallModel = "mlp_small";
    private const string HeavyModel = "mlp_heavy";
    // The same network as HeavyModel, rebuilt as TorchScript from its weights (tools/models/generate_torchscript.py --bench).
    private const string HeavyTorchScriptModel = "mlp_heavy_ts";
    private const int SmallFeatures = 64;
    private const int HeavyFeatures = 512;

    // The concurrencies and batch size the issue's targets are stated at.
    private const int SmallTargetConcurrency = 32;
    private const int HeavyTargetConcurrency = 64;
    private const int BaselineBatch = 32;

    // Two connections keep ONNX Runtime busy while the other request crosses HTTP.
    private const int BatchedRequestConcurrency = 2;

    private const string InProcessScenario = "in-process ORT (fastest run)";
    private const string InProcessTorchScenario = "in-process TorchSharp (fastest run)";
    private const string CeilingScenario = "bare Kestrel (ceiling)";
    private const string BatchingOffScenario = "server, batching off";
    private const string BatchingOnScenario = "server, batching on";
    private const string GatewayScenario = "gateway → server, batching off";
    // The same gateway routing by a deployment (a stand-in routing table), without and with capture of every request.
    private const string RoutedScenario = "gateway (deployment) → server";
    private const string CaptureScenario = "gateway (deployment, capture 100 %) → server";
    private const string BaselineSuffix = " (baseline)";
    private const string JobScenario = "batch job (graph, 1 replica)";
    // The pipeline of docs/pipelines.md against a client making its two calls itself, through the same gateway.
    private const string PipelineScenario = "pipeline through the gateway (graph)";
    private const string BackToBackScenario = "client, the 2 calls back to back (graph)";
    private const string PipelineModels = PipelineRun.PrepModel + " → " + PipelineRun.ClassifierModel;

    // What the graph's job workers send at their defaults (Orchestrator:Jobs:Workers 2 × BatchesInFlight 2, batches of
    // the model's max_batch_size): the direct row with the same batches isolates what the job machinery costs.
    private const int JobBatch = 64;
    private const int JobConcurrency = 4;
    private static readonly TimeSpan GraphReadyTimeout = TimeSpan.FromMinutes(4);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly List<ResultRow> _rows = [];
    private readonly List<string> _notes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>What every served process gets in a <c>--telemetry</c> run: OTLP to the sink; empty otherwise.</summary>
    private Dictionary<string, string> _telemetry = [];
    private readonly RequestBody _smallBody = RequestBodies.Json("input", 1, SmallFeatures, seed: 1);
    private readonly RequestBody _heavyBody = RequestBodies.Json("input", 1, HeavyFeatures, seed: 2);
    private readonly RequestBody _heavyBinaryBody = RequestBodies.Binary("input", "logits", 1, HeavyFeatures, seed: 2);
    private readonly RequestBody _heavyBatchBody = RequestBodies.Json("input", BaselineBatch, HeavyFeatures, seed: 3);
    private readonly RequestBody _heavyBatchBinaryBody = RequestBodies.Binary("input", "logits", BaselineBatch, HeavyFeatures, seed: 3);
    private readonly RequestBody _smallJobBatchBody = RequestBodies.Binary("input", "logits", JobBatch, SmallFeatures, seed: 4);
    private string? _loadBefore;
    private bool _torchScript;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        string root;
        ILoadGenerator load;
        var work = Directory.CreateTempSubdirectory("hyperion-bench-");
        try
        {
            root = Toolchain.FindRepositoryRoot(options.RepositoryRoot);
            load = CreateLoadGenerator(work.FullName);
            if (BaselineDll() is { } baselineDll && !File.Exists(baselineDll))
            {
                throw new ArgumentException($"--baseline-inference expects a directory with a build of Hyperion.Inference (dotnet build -c Release Hyperion.Inference), but {baselineDll} does not exist.");
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            work.Delete(recursive: true);
            return 2;
        }

        var servers = new List<ChildProcess>();
        try
        {
            _loadBefore = LoadAverage();
            Console.WriteLine($"Hyperion benchmark: {options.Rounds} runs of {options.Duration.TotalSeconds:0.#} s per step after {options.Warmup.TotalSeconds:0.#} s warm-up, load from {load.Name}, {Environment.ProcessorCount} cores, load average {_loadBefore ?? "unknown"}");

            var models = Path.Combine(work.FullName, "models");
            if (!await GenerateModelsAsync(root, models, cancellationToken))
            {
                return 1;
            }

            var serverBuilt = await BuildAsync(root, "Hyperion.Inference", cancellationToken);
            var gatewayBuilt = serverBuilt && await BuildAsync(root, "Hyperion.Gateway", cancellationToken);

            if (options.Telemetry)
            {
                _telemetry = await StartOtlpSinkAsync(servers, cancellationToken);
            }

            Step("starting the bare Kestrel ceiling and the inference server with batching off and on");
            var serverDll = Path.Combine(root, "Hyperion.Inference", "bin", "Release", "net10.0", "Hyperion.Inference.dll");
            var starting = new List<Task<ServedTarget?>> { StartCeilingAsync(servers, cancellationToken) };
            if (serverBuilt)
            {
                starting.Add(StartServerAsync(servers, serverDll, Path.Combine(models, "batching-off"), BatchingOffScenario, cancellationToken));
                starting.Add(StartServerAsync(servers, serverDll, Path.Combine(models, "batching-on"), BatchingOnScenario, cancellationToken));
            }
            if (BaselineDll() is { } baselineDll)
            {
                // Interleaved with this build's servers in every step, so a before/after ratio sees the same machine.
                starting.Add(StartServerAsync(servers, baselineDll, Path.Combine(models, "batching-off"), BatchingOffScenario + BaselineSuffix, cancellationToken));
                starting.Add(StartServerAsync(servers, baselineDll, Path.Combine(models, "batching-on"), BatchingOnScenario + BaselineSuffix, cancellationToken));
            }

            var targets = (await Task.WhenAll(starting)).OfType<ServedTarget>().ToList();
            var inferenceServers = targets.Where(t => t.Scenario != CeilingScenario).ToList();
            if (gatewayBuilt && targets.FirstOrDefault(t => t.Scenario == BatchingOffScenario) is { } direct)
            {
                var gateways = await Task.WhenAll(
                    StartGatewayAsync(servers, root, direct, GatewayScenario, capturePercent: null, cancellationToken),
                    StartGatewayAsync(servers, root, direct, RoutedScenario, capturePercent: 0, cancellationToken),
                    StartGatewayAsync(servers, root, direct, CaptureScenario, capturePercent: 100, cancellationToken));
                targets.AddRange(gateways.OfType<ServedTarget>());
            }

            // Concurrency 1 always: the gateway's added p50 is read there, where no queue hides it.
            Step($"{SmallModel}, batch-1 requests");
            await MeasureServedAsync(load, targets, SmallModel, _smallBody, 1, WithTarget(SmallTargetConcurrency).Append(1).Distinct(), cancellationToken);

            if (targets.FirstOrDefault(t => t.Scenario == CaptureScenario) is { } capturing)
            {
                await NoteCapturesAsync(capturing, cancellationToken);
            }

            Step("in-process ONNX Runtime (one caller running the model back to back)");
            MeasureInProcess(models, cancellationToken);

            Step($"{HeavyModel}, batch-1 requests");
            await MeasureServedAsync(load, inferenceServers, HeavyModel, _heavyBody, 1, WithTarget(HeavyTargetConcurrency), cancellationToken);

            // The heavy targets do not prescribe JSON; 512 floats a row make parsing a large share
            // of the cost, so the binary tensor extension runs at the targets' concurrency too.
            Step($"{HeavyModel}, batch-1 requests, binary tensor extension");
            await MeasureServedAsync(load, inferenceServers, HeavyModel, _heavyBinaryBody, 1, [HeavyTargetConcurrency], cancellationToken);

            if (_torchScript)
            {
                Step($"{HeavyTorchScriptModel} (TorchScript twin of {HeavyModel}), batch-1 requests");
                await MeasureServedAsync(load, inferenceServers, HeavyTorchScriptModel, _heavyBody, 1, [HeavyTargetConcurrency], cancellationToken);
                await MeasureServedAsync(load, inferenceServers, HeavyTorchScriptModel, _heavyBinaryBody, 1, [HeavyTargetConcurrency], cancellationToken);
            }

            // Requests already at the baseline's batch size: what HTTP and decoding cost per row.
            Step($"{HeavyModel}, batch-{BaselineBatch} requests");
            var unbatched = inferenceServers.Where(t => t.Scenario == BatchingOffScenario).ToList();
            await MeasureServedAsync(load, unbatched, HeavyModel, _heavyBatchBody, BaselineBatch, [BatchedRequestConcurrency], cancellationToken);
            await MeasureServedAsync(load, unbatched, HeavyModel, _heavyBatchBinaryBody, BaselineBatch, [BatchedRequestConcurrency], cancellationToken);

            // Last: the graph's PostgreSQL, Redis and services would otherwise sit beside every other row.
            if (options.NeedsGraph)
            {
                await MeasureOnGraphAsync(root, work.FullName, models, load, targets.FirstOrDefault(t => t.Scenario == BatchingOnScenario), cancellationToken);
            }

            Report(root, load);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
        catch (InvalidOperationException e)
        {
            // A load generator or child process that cannot run: say which and stop cleanly.
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }

            _http.Dispose();
            work.Delete(recursive: true);
        }
    }

    private ILoadGenerator CreateLoadGenerator(string workDirectory) => options.Client switch
    {
        LoadClient.InProcess => new ClosedLoopLoadGenerator(),
        LoadClient.Wrk when !File.Exists(WrkLoadGenerator.DefaultPath) =>
            throw new ArgumentException($"--client wrk needs {WrkLoadGenerator.DefaultPath} (apt-get install wrk)."),
        _ when File.Exists(WrkLoadGenerator.DefaultPath) => new WrkLoadGenerator(WrkLoadGenerator.DefaultPath, workDirectory),
        _ => new ClosedLoopLoadGenerator(),
    };

    private async Task<bool> GenerateModelsAsync(string root, string models, CancellationToken cancellationToken)
    {
        Step("generating benchmark models");
        var script = Path.Combine(root, "tools", "models", "generate_models.py");
        var (exitCode, output) = await Toolchain.RunAsync(options.Python, [script, "--bench", models], root, cancellationToken);
        if (exitCode != 0)
        {
            Console.Error.WriteLine($"{options.Python} {script} --bench failed (exit {exitCode}); it needs python3-onnx and python3-numpy:{Environment.NewLine}{output}");
            return false;
        }

        var torchScript = Path.Combine(root, "tools", "models", "generate_torchscript.py");
        (exitCode, output) = await Toolchain.RunAsync(options.Python, [torchScript, "--bench", models], root, cancellationToken);
        _torchScript = exitCode == 0;
        if (!_torchScript)
        {
            Note($"{options.Python} {torchScript} --bench failed (exit {exitCode}; it needs python3-torch), so the TorchScript rows are missing: {LastLines(output)}");
        }

        return true;
    }

    private async Task<bool> BuildAsync(string root, string name, CancellationToken cancellationToken)
    {
        if (!options.Build)
        {
            return true;
        }

        var project = Path.Combine(root, name, name + ".csproj");
        Step($"building {name} (Release)");
        var (exitCode, output) = await Toolchain.RunAsync(Toolchain.DotnetHost, ["build", project, "-c", "Release", "--nologo", "-v", "q"], root, cancellationToken);
        if (exitCode != 0)
        {
            Note($"building {project} failed, so its rows are missing: {LastLines(output)}");
            return false;
        }

        return true;
    }

    /// <summary>The OTLP receiver of a <c>--telemetry</c> run, and the variables that point the services at it.</summary>
    private async Task<Dictionary<string, string>> StartOtlpSinkAsync(List<ChildProcess> servers, CancellationToken cancellationToken)
    {
        var port = Toolchain.FreePort();
        var sink = ChildProcess.Start("otlp sink", Toolchain.DotnetHost,
            [typeof(BenchmarkRunner).Assembly.Location, OtlpSink.Command, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string>());
        lock (servers)
        {
            servers.Add(sink);
        }
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        if (!await sink.WaitReadyAsync(_http, [new Uri(baseUrl, "ready")], ReadyTimeout, cancellationToken))
        {
            Note($"the OTLP sink did not start, so this run has no telemetry: {LastLines(sink.OutputTail())}");
            return [];
        }
        Note("telemetry on: the servers and the gateway export OTLP (http/protobuf) to a receiver; traces at the services' default head sampling");
        return new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = baseUrl.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // What the AppHost's projects get from Aspire in development (OtlpConfigurationExtensions): batches and
            // metrics every second, exemplars on sampled requests. OTEL_TRACES_SAMPLER=always_on is the one it sets
            // that the graph removes (HyperionGraph), so the services' own head sampling stands here too.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_METRICS_EXEMPLAR_FILTER"] = "trace_based",
        };
    }

    private async Task<ServedTarget?> StartCeilingAsync(List<ChildProcess> servers, CancellationToken cancellationToken)
    {
        var port = Toolchain.FreePort();
        var self = typeof(BenchmarkRunner).Assembly.Location;

        // Server GC, as the Web SDK gives the inference server, so both HTTP stacks run alike.
        var ceiling = ChildProcess.Start(
            CeilingScenario,
            Toolchain.DotnetHost,
            [self, CeilingServer.Command, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" });
        lock (servers)
        {
            servers.Add(ceiling);
        }

        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        if (!await ceiling.WaitReadyAsync(_http, [new Uri(baseUrl, "v2/health/ready")], ReadyTimeout, cancellationToken))
        {
            Note($"the bare Kestrel ceiling did not start: {LastLines(ceiling.OutputTail())}");
            return null;
        }

        return new ServedTarget(CeilingScenario, baseUrl);
    }

    private async Task<ServedTarget?> StartServerAsync(List<ChildProcess> servers, string serverDll, string repository, string scenario, CancellationToken cancellationToken)
    {
        if (!File.Exists(serverDll))
        {
            Note($"{serverDll} is missing (build it with: dotnet build -c Release Hyperion.Inference), so the {scenario} rows are missing");
            return null;
        }

        var port = Toolchain.FreePort();
        var server = ChildProcess.Start(
            scenario,
            Toolchain.DotnetHost,
            [serverDll, "--model-repository", repository, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string>(_telemetry)
            {
                // Per-request logging would measure the console, not the server.
                ["Logging__LogLevel__Default"] = "Warning",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        lock (servers)
        {
            servers.Add(server);
        }

        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        Uri[] ready = [new(baseUrl, "v2/health/ready"), new(baseUrl, $"v2/models/{SmallModel}/ready"), new(baseUrl, $"v2/models/{HeavyModel}/ready")];
        if (!await server.WaitReadyAsync(_http, ready, ReadyTimeout, cancellationToken))
        {
            var state = server.HasExited ? "exited" : $"was not ready within {ReadyTimeout.TotalSeconds:0} s";
            Note($"the inference server ({scenario}) {state}, so its rows are missing; last output: {LastLines(server.OutputTail())}");
            return null;
        }

        return new ServedTarget(scenario, baseUrl);
    }

    /// <summary>
    /// The gateway in front of the batching-off server (<see cref="GatewayUnderTest"/>); with
    /// <paramref name="capturePercent"/> it routes by a <see cref="RoutingStandIn"/> table that deploys the small model
    /// with that capture percent, and is ready once it routes by it.
    /// </summary>
    private async Task<ServedTarget?> StartGatewayAsync(List<ChildProcess> servers, string root, ServedTarget direct, string scenario, double? capturePercent, CancellationToken cancellationToken)
    {
        var gatewayDll = Path.Combine(root, "Hyperion.Gateway", "bin", "Release", "net10.0", "Hyperion.Gateway.dll");
        var redisServer = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (!File.Exists(gatewayDll) || redisServer is null)
        {
            Note($"the gateway rows need {gatewayDll} (dotnet build -c Release Hyperion.Gateway) and redis-server (apt-get install redis-server)");
            return null;
        }
        Uri? orchestrator = null;
        if (capturePercent is { } percent)
        {
            var port = Toolchain.FreePort();
            orchestrator = new Uri($"http://127.0.0.1:{port}/");
            var standIn = ChildProcess.Start($"routing ({scenario})", Toolchain.DotnetHost,
                [typeof(BenchmarkRunner).Assembly.Location, RoutingStandIn.Command, "--urls", orchestrator.ToString(), "--inference", direct.BaseUrl.ToString(),
                    "--capture-percent", percent.ToString(CultureInfo.InvariantCulture), SmallModel],
                new Dictionary<string, string>());
            lock (servers)
            {
                servers.Add(standIn);
            }
            if (!await standIn.WaitReadyAsync(_http, [new Uri(orchestrator, "ready")], ReadyTimeout, cancellationToken))
            {
                Note($"the routing stand-in did not become ready, so the {scenario} rows are missing: {LastLines(standIn.OutputTail())}");
                return null;
            }
        }
        var (redis, gateway, baseUrl, token) = GatewayUnderTest.Start(redisServer, gatewayDll, direct.BaseUrl, _telemetry, scenario, orchestrator);
        lock (servers)
        {
            servers.Add(gateway);
            servers.Add(redis);
        }
        if (!await gateway.WaitReadyAsync(_http, [new Uri(baseUrl, "health")], ReadyTimeout, cancellationToken))
        {
            Note($"the gateway did not become ready, so the {scenario} rows are missing: {LastLines(gateway.OutputTail())} {LastLines(redis.OutputTail())}");
            return null;
        }
        var target = new ServedTarget(scenario, baseUrl, new Dictionary<string, string> { ["Authorization"] = "Bearer " + token });
        if (orchestrator is not null && !await RoutesByDeploymentAsync(target, cancellationToken))
        {
            Note($"the {scenario} gateway never routed by the stand-in's table, so its rows are missing: {LastLines(gateway.OutputTail())}");
            return null;
        }
        return target;
    }

    /// <summary>What the capturing gateway did with its captures (written, or dropped and why), from its /metrics.</summary>
    private async Task NoteCapturesAsync(ServedTarget target, CancellationToken cancellationToken)
    {
        try
        {
            var metrics = await _http.GetStringAsync(new Uri(target.BaseUrl, "metrics"), cancellationToken);
            var counts = metrics.Split('\n').Where(line => line.StartsWith("hyperion_gateway_captures_total{", StringComparison.Ordinal)).ToList();
            Note($"{target.Scenario}: {(counts.Count == 0 ? "no hyperion_gateway_captures_total on /metrics" : string.Join("; ", counts))}");
        }
        catch (HttpRequestException ex)
        {
            Note($"{target.Scenario}: its /metrics could not be read ({ex.Message})");
        }
    }

    /// <summary>Whether the gateway answers for a deployment (it names the version that answered) within the ready timeout.</summary>
    private async Task<bool> RoutesByDeploymentAsync(ServedTarget target, CancellationToken cancellationToken)
    {
        var body = target.WithHeaders(_smallBody);
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target.InferUrl(SmallModel)) { Content = new ByteArrayContent(body.Bytes) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(body.ContentType);
            foreach (var (name, value) in body.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode && response.Headers.Contains("X-Hyperion-Model-Version"))
            {
                return true;
            }
            await Task.Delay(200, cancellationToken);
        }
        return false;
    }

    /// <summary>
    /// The rows on the whole graph, started once for all of them (one inference replica): the pipeline against the
    /// back-to-back client, then the batch job.
    /// </summary>
    private async Task MeasureOnGraphAsync(string root, string work, string models, ILoadGenerator load, ServedTarget? batchingOn, CancellationToken cancellationToken)
    {
        if (!await BuildAsync(root, "Hyperion.AppHost", cancellationToken))
        {
            return;
        }
        Step("starting the graph (the AppHost: PostgreSQL, Redis, orchestrator, gateway, one inference replica)");
        var appHostDll = Path.Combine(root, "Hyperion.AppHost", "bin", "Release", "net10.0", "Hyperion.AppHost.dll");
        await using var graph = GraphUnderTest.Start(appHostDll, Path.Combine(work, "graph"), inferenceReplicas: 1);
        if (!await graph.WaitReadyAsync(_http, GraphReadyTimeout, cancellationToken))
        {
            Note($"the graph did not become ready within {GraphReadyTimeout.TotalMinutes:0} min, so the pipeline and batch job rows are missing: {LastLines(graph.OutputTail())}");
            return;
        }
        if (options.PipelineConnections > 0)
        {
            await MeasurePipelineAsync(root, graph, cancellationToken);
        }
        if (options.JobLines > 0 && batchingOn is not null)
        {
            await MeasureBatchJobAsync(graph, models, load, batchingOn, cancellationToken);
        }
    }

    /// <summary>
    /// The two-step pipeline through the gateway against a client making the same two calls back to back through the
    /// same gateway (<see cref="PipelineRun"/>), round-robin at the same connections, JSON then binary. Both sides use
    /// the in-process client, whatever <c>--client</c> says: wrk cannot chain two calls, and the two sides of a ratio
    /// must pay for the same client.
    /// </summary>
    private async Task MeasurePipelineAsync(string root, GraphUnderTest graph, CancellationToken cancellationToken)
    {
        var pipeline = new PipelineRun(graph, _http);
        if (await pipeline.SetUpAsync(root, ReadyTimeout, cancellationToken) is { } problem)
        {
            Note($"the pipeline rows are missing: {problem}");
            return;
        }
        var client = pipeline.Client;
        var single = new ClosedLoopLoadGenerator();
        var steps = 0;
        // 1 connection first: after a step at many connections the gateway and the replica stay busy for seconds
        // (measured: 10-20 % of a core each for 3 s and more), which would slow whichever side runs next.
        foreach (var concurrency in new[] { 1, options.PipelineConnections }.Distinct())
        {
            foreach (var encoding in new[] { "json", "binary" })
            {
                Step($"{PipelineModels}, batch-1 {encoding} requests at {Connections(concurrency)}: the pipeline, and the client's two calls back to back");
                var pipelineSpec = new LoadSpec(pipeline.PipelineUrl, pipeline.Request(encoding), concurrency, options.Duration);
                var chain = client.Exchange(pipeline.FirstCall(encoding));
                Func<TimeSpan, Task<LoadResult>>[] sides =
                [
                    duration => single.RunAsync(pipelineSpec with { Duration = duration }, cancellationToken),
                    duration => ClosedLoop.RunAsync(concurrency, duration, chain, cancellationToken),
                ];
                var runs = sides.Select(_ => new List<LoadResult>()).ToList();
                GatewayHistograms[] inGateway = [new(), new()];
                for (var round = 0; round < options.Rounds; round++)
                {
                    // Who goes first alternates, round by round and step by step, so a machine growing busier or
                    // quieter, or the previous step's aftermath, does not favour one side.
                    foreach (var i in (round + steps) % 2 == 0 ? [0, 1] : new[] { 1, 0 })
                    {
                        if (round == 0)
                        {
                            await sides[i](options.Warmup);
                        }
                        var before = await GatewayHistograms.ScrapeAsync(_http, pipeline.MetricsUrl, cancellationToken);
                        runs[i].Add(await sides[i](options.Duration));
                        inGateway[i].AddDifference(before, await GatewayHistograms.ScrapeAsync(_http, pipeline.MetricsUrl, cancellationToken));
                    }
                }
                AddMedian(PipelineScenario, PipelineModels, encoding, 1, concurrency, runs[0]);
                AddMedian(BackToBackScenario, PipelineModels, encoding, 1, concurrency, runs[1]);
                NoteTimeInGateway(encoding, concurrency, inGateway[0], inGateway[1]);
                steps++;
            }
        }
    }

    /// <summary>
    /// Where the time goes, from the gateway's own histograms over the measured runs: a pipeline call's time in the
    /// gateway and its steps' calls to the replica; a direct call's time in the gateway and its call to the replica.
    /// What the client sees beyond that is its hop to the gateway and its own work.
    /// </summary>
    private void NoteTimeInGateway(string encoding, int concurrency, GatewayHistograms pipeline, GatewayHistograms client)
    {
        const string Server = "http_server_request_duration_seconds";
        const string Inference = "http_route=\"/v2/{**rest}\"";
        const string Step = "hyperion_gateway_pipeline_step_duration_seconds";
        const string Replica = "hyperion_gateway_arm_request_duration_seconds";
        static string Ms(double? value) => value is { } ms ? ms.ToString("0.00", CultureInfo.InvariantCulture) : "?";
        Note($"{PipelineModels}, {encoding}, {Connections(concurrency)}, means from the gateway's /metrics over the measured runs: " +
            $"a pipeline call {Ms(pipeline.MeanMilliseconds(Server, Inference))} ms in the gateway, its steps {Ms(pipeline.MeanMilliseconds(Step, $"step=\"{PipelineRun.PrepStep}\""))} + {Ms(pipeline.MeanMilliseconds(Step, $"step=\"{PipelineRun.ClassifierStep}\""))} ms " +
            $"(each its call to the replica); a back-to-back pair 2 calls of {Ms(client.MeanMilliseconds(Server, Inference))} ms in the gateway, their calls to the replica " +
            $"{Ms(client.MeanMilliseconds(Replica, $"model=\"{PipelineRun.PrepModel}\""))} + {Ms(client.MeanMilliseconds(Replica, $"model=\"{PipelineRun.ClassifierModel}\""))} ms");
    }

    /// <summary>
    /// A batch job of <see cref="BenchmarkOptions.JobLines"/> lines on the graph, and, just before it with the graph
    /// up, the standalone server driven with the same batches at the same concurrency.
    /// </summary>
    private async Task MeasureBatchJobAsync(GraphUnderTest graph, string models, ILoadGenerator load, ServedTarget batchingOn, CancellationToken cancellationToken)
    {
        var batchingOnModel = Path.Combine(models, "batching-on", SmallModel);
        if (await graph.DeployAsync(_http, SmallModel, Path.Combine(batchingOnModel, "1", "model.onnx"), Path.Combine(batchingOnModel, "config.json"), ReadyTimeout, cancellationToken) is { } problem)
        {
            Note($"the batch job row is missing: {problem}");
            return;
        }

        Step($"{SmallModel}, batch-{JobBatch} requests, the batches a job sends, to the standalone server (the graph idle beside it)");
        await MeasureServedAsync(load, [batchingOn], SmallModel, _smallJobBatchBody, JobBatch, [JobConcurrency], cancellationToken);

        Step($"{SmallModel}, a {options.JobLines:N0}-line batch job through the graph");
        var job = new BatchJobRun(graph, _http, message => Console.WriteLine($"  {message}"));
        var result = await job.RunAsync(SmallModel, "input", options.JobLines, SmallFeatures, cancellationToken);
        if (result.State != "succeeded" || result.ResultProblem is not null)
        {
            Note($"the batch job {result.Id} ended {result.State} with {result.Failed} failed lines: {result.ResultProblem ?? "see the orchestrator's log"}; its row is missing");
            return;
        }
        var batches = Math.Ceiling((double)result.Done / JobBatch);
        Add(new ResultRow(JobScenario, SmallModel, "jsonl", JobBatch, $"{JobConcurrency} batches", batches / result.Finished.TotalSeconds, result.RowsPerSecond, double.NaN, double.NaN, result.Failed, 1, 0));
        Note(string.Create(CultureInfo.InvariantCulture,
            $"batch job: {result.Done:N0} lines in {result.Finished.TotalSeconds:0.0} s from the start of the upload to the job seen finished (upload and split {result.Submitted.TotalSeconds:0.0} s; the job's own started_at → finished_at {result.Run.TotalSeconds:0.0} s, {result.Done / Math.Max(result.Run.TotalSeconds, 0.001):N0} rows/s); every result line checked in input order"));
    }

    private void MeasureInProcess(string models, CancellationToken cancellationToken)
    {
        List<(string Scenario, string Model, IInProcessBaseline Baseline)> cases =
        [
            .. new (string Model, int Batch)[] { (HeavyModel, BaselineBatch), (HeavyModel, 1), (SmallModel, 1) }.Select(c =>
                (InProcessScenario, c.Model, (IInProcessBaseline)new OrtBaseline(Path.Combine(models, "batching-off", c.Model, "1", "model.onnx"), c.Batch))),
        ];
        try
        {
            if (_torchScript)
            {
                cases.Add((InProcessTorchScenario, HeavyTorchScriptModel,
                    new TorchScriptBaseline(Path.Combine(models, "batching-off", HeavyTorchScriptModel, "1", "model.pt"), BaselineBatch, HeavyFeatures)));
            }
            var runs = cases.Select(_ => new List<InProcessResult>()).ToList();
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var i = 0; i < cases.Count; i++)
                {
                    runs[i].Add(InProcessRun.Measure(cases[i].Baseline, round == 0 ? options.Warmup : TimeSpan.Zero, options.Duration, cancellationToken));
                }
            }

            // The fastest run, not the median: ONNX Runtime's spinning thread pool suffers most
            // from other work on the machine, and a baseline dragged down by it would flatter
            // the served/in-process ratio.
            for (var i = 0; i < cases.Count; i++)
            {
                var (_, spread) = Median(runs[i], r => r.RowsPerSecond);
                var fastest = runs[i].MaxBy(r => r.RowsPerSecond)!;
                Add(new ResultRow(cases[i].Scenario, cases[i].Model, "-", cases[i].Baseline.Batch, "1 caller", fastest.CallsPerSecond, fastest.RowsPerSecond, fastest.P50Milliseconds, fastest.P99Milliseconds, 0, runs[i].Count, spread));
            }
        }
        finally
        {
            cases.ForEach(c => c.Baseline.Dispose());
        }
    }

    /// <summary>The run with the median throughput (its own latencies come with it) and the runs' spread.</summary>
    private static (T Median, double Spread) Median<T>(List<T> runs, Func<T, double> throughput)
    {
        var sorted = runs.OrderBy(throughput).ToList();
        var median = sorted[sorted.Count / 2];
        var middle = throughput(median);
        return (median, middle > 0 ? (throughput(sorted[^1]) - throughput(sorted[0])) / middle : 0);
    }

    // The target's concurrency first: its rows then sit next to the in-process baseline in time.
    private IEnumerable<int> WithTarget(int targetConcurrency) =>
        options.Concurrencies.Where(c => c != targetConcurrency).Order().Prepend(targetConcurrency);

    /// <summary>
    /// Drives each target at each concurrency, round-robin across the targets for each of the
    /// rounds. A target is only a scenario name and a base URL, so a row through the gateway is
    /// one more target.
    /// </summary>
    private async Task MeasureServedAsync(ILoadGenerator load, IReadOnlyList<ServedTarget> targets, string model, RequestBody body, int batch, IEnumerable<int> concurrencies, CancellationToken cancellationToken)
    {
        var answering = new List<ServedTarget>();
        foreach (var target in targets)
        {
            if (await CheckAnswerAsync(target.InferUrl(model), target.WithHeaders(body), cancellationToken) is { } problem)
            {
                Note($"{target.Scenario}, {model} batch {batch} {body.Encoding}: {problem}, so its rows are missing");
            }
            else
            {
                answering.Add(target);
            }
        }

        foreach (var concurrency in concurrencies)
        {
            var runs = answering.Select(_ => new List<LoadResult>()).ToList();
            for (var round = 0; round < options.Rounds; round++)
            {
                for (var i = 0; i < answering.Count; i++)
                {
                    var spec = new LoadSpec(answering[i].InferUrl(model), answering[i].WithHeaders(body), concurrency, options.Duration);
                    if (round == 0)
                    {
                        await load.RunAsync(spec with { Duration = options.Warmup }, cancellationToken);
                    }

                    runs[i].Add(await load.RunAsync(spec, cancellationToken));
                }
            }

            for (var i = 0; i < answering.Count; i++)
            {
                AddMedian(answering[i].Scenario, model, body.Encoding, batch, concurrency, runs[i]);
            }
        }
    }

    /// <summary>The row of the run with the median throughput, and a note when any run had errors.</summary>
    private void AddMedian(string scenario, string model, string encoding, int batch, int concurrency, List<LoadResult> runs)
    {
        var (median, spread) = Median(runs, r => r.RequestsPerSecond);
        var errors = runs.Sum(r => r.Errors);
        Add(new ResultRow(scenario, model, encoding, batch, concurrency.ToString(CultureInfo.InvariantCulture), median.RequestsPerSecond, median.RequestsPerSecond * batch, median.P50Milliseconds, median.P99Milliseconds, errors, runs.Count, spread));
        if (errors > 0)
        {
            Note($"{scenario}, {model} batch {batch} {encoding} at {concurrency} connections: {runs.Sum(r => r.Failed)} non-2xx answers and {runs.Sum(r => r.TransportErrors)} broken or timed-out connections over {runs.Count} runs (not counted in req/s)");
        }
    }

    /// <summary>
    /// Success means a 200 whose JSON (the header part, with the binary extension) has a
    /// non-empty "outputs" array; load steps then count non-2xx.
    /// </summary>
    private async Task<string?> CheckAnswerAsync(Uri url, RequestBody body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body.Bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(body.ContentType);
        foreach (var (name, value) in body.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var jsonLength = response.Headers.TryGetValues(RequestBodies.InferenceHeaderContentLength, out var values)
            && int.TryParse(values.First(), CultureInfo.InvariantCulture, out var length) && length <= bytes.Length
                ? length
                : bytes.Length;
        var text = Encoding.UTF8.GetString(bytes, 0, jsonLength);
        if (!response.IsSuccessStatusCode)
        {
            return $"POST {url} answered {(int)response.StatusCode}: {Truncate(text)}";
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array && outputs.GetArrayLength() > 0
                ? null
                : $"POST {url} answered 200 without outputs: {Truncate(text)}";
        }
        catch (JsonException)
        {
            return $"POST {url} answered 200 with a body that is not JSON: {Truncate(text)}";
        }
    }

    private void Report(string root, ILoadGenerator load)
    {
        var targets = Targets();

        // Measured interleaved; shown grouped by scenario.
        string[] order = [InProcessScenario, InProcessTorchScenario, CeilingScenario, BatchingOffScenario, BatchingOffScenario + BaselineSuffix, GatewayScenario, RoutedScenario, CaptureScenario, BatchingOnScenario, BatchingOnScenario + BaselineSuffix, PipelineScenario, BackToBackScenario, JobScenario];
        var rows = _rows
            .OrderBy(r => Array.IndexOf(order, r.Scenario))
            .ThenBy(r => r.Model, StringComparer.Ordinal)
            .ThenBy(r => r.Encoding, StringComparer.Ordinal)
            .ThenBy(r => r.Batch)
            .ThenBy(r => int.TryParse(r.Concurrency, CultureInfo.InvariantCulture, out var c) ? c : 0)
            .ToList();
        Console.WriteLine();
        Console.Write(ResultTable.Console(rows, targets));

        var environment = string.Create(
            CultureInfo.InvariantCulture,
            $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}, .NET {Environment.Version}); load from {load.Name}, closed loop; each served row is the median of {options.Rounds} runs of {options.Duration.TotalSeconds:0.#} s (round-robin across the servers, after {options.Warmup.TotalSeconds:0.#} s warm-up) with that run's latencies, in-process rows the fastest of as many runs, spread = (fastest - slowest) ÷ median; body = how the rows travel (JSON `data`, or Triton's binary tensor extension). Load generator, servers and ONNX Runtime share the same cores. Load average (1/5/15 min) before the run {_loadBefore ?? "unknown"}, after {LoadAverage() ?? "unknown"}: anything above zero is other work on the machine competing with the run.");
        var output = options.OutputPath ?? Path.Combine(root, "artifacts", "benchmarks", "results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, ResultTable.Markdown(rows, targets, environment, _notes));
        Console.WriteLine($"Markdown table written to {output}");
    }

    private List<TargetCheck> Targets()
    {
        var ceiling = Find(CeilingScenario, SmallModel, "json", 1, SmallTargetConcurrency);
        var smallOff = Find(BatchingOffScenario, SmallModel, "json", 1, SmallTargetConcurrency);
        var smallOn = Find(BatchingOnScenario, SmallModel, "json", 1, SmallTargetConcurrency);
        var baseline = _rows.FirstOrDefault(r => r.Scenario == InProcessScenario && r.Model == HeavyModel && r.Batch == BaselineBatch);

        List<TargetCheck> targets =
        [
            new("small model vs HTTP ceiling, batching off", $"{SmallModel} req/s ÷ bare Kestrel req/s, JSON, {SmallTargetConcurrency} connections", Ratio(smallOff?.RequestsPerSecond, ceiling?.RequestsPerSecond), 0.60),
            new("small model vs HTTP ceiling, batching on", $"{SmallModel} req/s ÷ bare Kestrel req/s, JSON, {SmallTargetConcurrency} connections", Ratio(smallOn?.RequestsPerSecond, ceiling?.RequestsPerSecond), 0.60),
            new("gateway vs direct, small model", $"{SmallModel} req/s through the gateway ÷ direct to the server (batching off), JSON, {SmallTargetConcurrency} connections", Ratio(Find(GatewayScenario, SmallModel, "json", 1, SmallTargetConcurrency)?.RequestsPerSecond, smallOff?.RequestsPerSecond), 0.50),
            new("gateway with capture vs without, small model", $"{SmallModel} req/s through a gateway capturing every request (sample_percent 100) ÷ the same deployment without capture, JSON, {SmallTargetConcurrency} connections",
                Ratio(Find(CaptureScenario, SmallModel, "json", 1, SmallTargetConcurrency)?.RequestsPerSecond, Find(RoutedScenario, SmallModel, "json", 1, SmallTargetConcurrency)?.RequestsPerSecond), 0.90),
            new("gateway added p50 (ms)", $"{SmallModel} p50 through the gateway - p50 direct (batching off), JSON, 1 connection", Difference(Find(GatewayScenario, SmallModel, "json", 1, 1)?.P50Milliseconds, Find(BatchingOffScenario, SmallModel, "json", 1, 1)?.P50Milliseconds), 0.5, AtLeast: false),
        ];
        foreach (var encoding in new[] { "json", "binary" })
        {
            var heavyOff = Find(BatchingOffScenario, HeavyModel, encoding, 1, HeavyTargetConcurrency);
            var heavyOn = Find(BatchingOnScenario, HeavyModel, encoding, 1, HeavyTargetConcurrency);
            var servedBatch = Find(BatchingOffScenario, HeavyModel, encoding, BaselineBatch, BatchedRequestConcurrency);
            targets.AddRange(
            [
                new($"dynamic batching speed-up, {encoding}", $"{HeavyModel} rows/s batching on ÷ off, {HeavyTargetConcurrency} connections", Ratio(heavyOn?.RowsPerSecond, heavyOff?.RowsPerSecond), 4.0),
                new($"served vs in-process ORT, {encoding}", $"{HeavyModel} served rows/s (batching on, {HeavyTargetConcurrency} connections, batch-1 requests) ÷ in-process rows/s at batch {BaselineBatch}", Ratio(heavyOn?.RowsPerSecond, baseline?.RowsPerSecond), 0.70),
                new($"served tail latency, {encoding}", $"{HeavyModel} p99 ÷ p50, batching on, {HeavyTargetConcurrency} connections", heavyOn?.TailRatio, 3.0, AtLeast: false),
                new($"served vs in-process ORT at the same batch, {encoding}", $"{HeavyModel} served rows/s with batch-{BaselineBatch} requests (batching off, {BatchedRequestConcurrency} connections) ÷ in-process rows/s at batch {BaselineBatch}", Ratio(servedBatch?.RowsPerSecond, baseline?.RowsPerSecond)),
            ]);
            if (options.BaselineInference is not null)
            {
                var heavyOffBefore = Find(BatchingOffScenario + BaselineSuffix, HeavyModel, encoding, 1, HeavyTargetConcurrency);
                var heavyOnBefore = Find(BatchingOnScenario + BaselineSuffix, HeavyModel, encoding, 1, HeavyTargetConcurrency);
                targets.AddRange(
                [
                    new($"dynamic batching speed-up, {encoding}, baseline build", $"{HeavyModel} rows/s batching on ÷ off, {HeavyTargetConcurrency} connections, --baseline-inference build", Ratio(heavyOnBefore?.RowsPerSecond, heavyOffBefore?.RowsPerSecond), 4.0),
                    new($"batching on, this build ÷ baseline, {encoding}", $"{HeavyModel} rows/s, {HeavyTargetConcurrency} connections", Ratio(heavyOn?.RowsPerSecond, heavyOnBefore?.RowsPerSecond)),
                    new($"batching off, this build ÷ baseline, {encoding}", $"{HeavyModel} rows/s, {HeavyTargetConcurrency} connections", Ratio(heavyOff?.RowsPerSecond, heavyOffBefore?.RowsPerSecond)),
                ]);
            }
        }

        if (options.PipelineConnections > 0)
        {
            var connections = options.PipelineConnections;
            foreach (var encoding in new[] { "json", "binary" })
            {
                var pipeline = Find(PipelineScenario, PipelineModels, encoding, 1, connections);
                var client = Find(BackToBackScenario, PipelineModels, encoding, 1, connections);
                targets.AddRange(
                [
                    new($"pipeline vs back-to-back client, throughput, {encoding}", $"{PipelineModels} pipeline calls/s through the gateway ÷ a client's two calls made back to back through it (pairs/s), {connections} connections",
                        Ratio(pipeline?.RequestsPerSecond, client?.RequestsPerSecond), 1.0),
                    new($"pipeline vs back-to-back client, p50, {encoding}", $"{PipelineModels} pipeline p50 ÷ the back-to-back pair's p50, {connections} connections",
                        Ratio(pipeline?.P50Milliseconds, client?.P50Milliseconds), 1.0, AtLeast: false),
                ]);
                if (connections != 1)
                {
                    targets.Add(new($"pipeline vs back-to-back client, p50 at 1 connection, {encoding}", $"{PipelineModels} pipeline p50 ÷ the back-to-back pair's p50, 1 connection: one hop saved, no queue",
                        Ratio(Find(PipelineScenario, PipelineModels, encoding, 1, 1)?.P50Milliseconds, Find(BackToBackScenario, PipelineModels, encoding, 1, 1)?.P50Milliseconds)));
                }
            }
        }

        if (options.JobLines > 0)
        {
            var job = _rows.FirstOrDefault(r => r.Scenario == JobScenario);
            targets.AddRange(
            [
                new("batch job vs the standalone server's batched throughput", $"{SmallModel} rows/s of a {options.JobLines:N0}-line job (upload to finish) ÷ the server with dynamic batching, batch-1 JSON requests at {SmallTargetConcurrency} connections",
                    Ratio(job?.RowsPerSecond, Find(BatchingOnScenario, SmallModel, "json", 1, SmallTargetConcurrency)?.RowsPerSecond), 0.50),
                new("batch job vs its own batches sent straight", $"{SmallModel} rows/s of the job ÷ the server (batching on) with the job's batch-{JobBatch} binary requests at {JobConcurrency} connections: what reading, writing and storing the lines cost",
                    Ratio(job?.RowsPerSecond, Find(BatchingOnScenario, SmallModel, "binary", JobBatch, JobConcurrency)?.RowsPerSecond)),
            ]);
        }

        if (_torchScript)
        {
            var torchBaseline = _rows.FirstOrDefault(r => r.Scenario == InProcessTorchScenario && r.Model == HeavyTorchScriptModel && r.Batch == BaselineBatch);
            targets.Add(new("TorchScript ÷ ONNX Runtime in-process, same network", $"{HeavyTorchScriptModel} ÷ {HeavyModel} rows/s at batch {BaselineBatch}, one caller each", Ratio(torchBaseline?.RowsPerSecond, baseline?.RowsPerSecond)));
            foreach (var encoding in new[] { "json", "binary" })
            {
                var servedTorch = Find(BatchingOnScenario, HeavyTorchScriptModel, encoding, 1, HeavyTargetConcurrency);
                targets.AddRange(
                [
                    new($"served TorchScript vs in-process TorchSharp, {encoding}", $"{HeavyTorchScriptModel} served rows/s (batching on, {HeavyTargetConcurrency} connections, batch-1 requests) ÷ in-process TorchSharp rows/s at batch {BaselineBatch}", Ratio(servedTorch?.RowsPerSecond, torchBaseline?.RowsPerSecond), 0.70),
                    new($"TorchScript ÷ ONNX Runtime served, same network, {encoding}", $"{HeavyTorchScriptModel} ÷ {HeavyModel} rows/s, batching on, {HeavyTargetConcurrency} connections", Ratio(servedTorch?.RowsPerSecond, Find(BatchingOnScenario, HeavyModel, encoding, 1, HeavyTargetConcurrency)?.RowsPerSecond)),
                ]);
            }
        }

        return targets;
    }

    private string? BaselineDll() =>
        options.BaselineInference is { } directory ? Path.GetFullPath(Path.Combine(directory, "Hyperion.Inference.dll")) : null;

    private ResultRow? Find(string scenario, string model, string encoding, int batch, int concurrency) =>
        _rows.FirstOrDefault(r => r.Scenario == scenario && r.Model == model && r.Encoding == encoding && r.Batch == batch && r.Concurrency == concurrency.ToString(CultureInfo.InvariantCulture));

    private static double? Difference(double? minuend, double? subtrahend) => minuend - subtrahend;

    private static double? Ratio(double? numerator, double? denominator) =>
        numerator is { } n && denominator is { } d && d > 0 ? n / d : null;

    private void Add(ResultRow row)
    {
        _rows.Add(row);
        var cells = ResultTable.Cells(row);
        Console.WriteLine($"  {cells[0]}, {cells[1]}, {cells[2]}, batch {cells[3]}, {cells[4]}: {cells[5]} req/s, {cells[6]} rows/s, p50 {cells[7]} ms, p99 {cells[8]} ms, {cells[10]} errors, spread {cells[12]} over {cells[11]} runs");
    }

    private void Note(string what)
    {
        lock (_notes)
        {
            _notes.Add(what);
        }

        Console.WriteLine($"  note: {what}");
    }

    /// <summary>The machine is shared, so the report says how busy it was.</summary>
    private static string? LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;

    private static string LastLines(string output) =>
        string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));

    private static string Connections(int count) => count == 1 ? "1 connection" : $"{count} connections";

    private static void Step(string what) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {what}");

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    /// <param name="Headers">Sent with every request (the gateway's Authorization).</param>
    private sealed record ServedTarget(string Scenario, Uri BaseUrl, IReadOnlyDictionary<string, string>? Headers = null)
    {
        public Uri InferUrl(string model) => new(BaseUrl, $"v2/models/{model}/infer");

        public RequestBody WithHeaders(RequestBody body) => Headers is null
            ? body
            : body with { Headers = body.Headers.Concat(Headers).ToDictionary(h => h.Key, h => h.Value) };
    }
}
