using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hyperion.Benchmarks.Hosting;
using Hyperion.Benchmarks.InProcess;
using Hyperion.Benchmarks.Load;
using Hyperion.Benchmarks.Reporting;

namespace Hyperion.Benchmarks;

/// <summary>
/// One run: generate the models, measure ONNX Runtime in process, the bare-Kestrel ceiling, then
/// the standalone inference server with batching off and on; print the table and the targets.
/// Each server runs alone so the parts never compete with each other for the two cores.
/// </summary>
public sealed class BenchmarkRunner(BenchmarkOptions options)
{
    private const string SmallModel = "mlp_small";
    private const string HeavyModel = "mlp_heavy";
    private const int SmallFeatures = 64;
    private const int HeavyFeatures = 512;

    // The concurrencies and batch size the issue's targets are stated at.
    private const int SmallTargetConcurrency = 32;
    private const int HeavyTargetConcurrency = 64;
    private const int BaselineBatch = 32;

    private const string InProcessScenario = "in-process ORT";
    private const string CeilingScenario = "bare Kestrel (ceiling)";
    private const string BatchingOffScenario = "server, batching off";
    private const string BatchingOnScenario = "server, batching on";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    // Two connections keep ONNX Runtime busy while the other request crosses HTTP.
    private const int BatchedRequestConcurrency = 2;

    private readonly List<ResultRow> _rows = [];
    private readonly List<string> _notes = [];
    private string? _loadBefore;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly byte[] _smallBody = RequestBodies.Infer("input", 1, SmallFeatures, seed: 1);
    private readonly byte[] _heavyBody = RequestBodies.Infer("input", 1, HeavyFeatures, seed: 2);
    private readonly byte[] _heavyBatchBody = RequestBodies.Infer("input", BaselineBatch, HeavyFeatures, seed: 3);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        string root;
        ILoadGenerator load;
        var work = Directory.CreateTempSubdirectory("hyperion-bench-");
        try
        {
            root = Toolchain.FindRepositoryRoot(options.RepositoryRoot);
            load = CreateLoadGenerator(work.FullName);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            work.Delete(recursive: true);
            return 2;
        }

        try
        {
            _loadBefore = LoadAverage();
            Console.WriteLine($"Hyperion benchmark: {options.Duration.TotalSeconds:0.#} s per step after {options.Warmup.TotalSeconds:0.#} s warm-up, load from {load.Name}, {Environment.ProcessorCount} cores, load average {_loadBefore ?? "unknown"}");

            var models = Path.Combine(work.FullName, "models");
            if (!await GenerateModelsAsync(root, models, cancellationToken))
            {
                return 1;
            }

            var serverBuilt = await BuildServerAsync(root, cancellationToken);

            Step("in-process ONNX Runtime (one caller running the model back to back)");
            MeasureInProcess(Path.Combine(models, "batching-off", HeavyModel, "1", "model.onnx"), HeavyModel, BaselineBatch, cancellationToken);
            MeasureInProcess(Path.Combine(models, "batching-off", HeavyModel, "1", "model.onnx"), HeavyModel, 1, cancellationToken);
            MeasureInProcess(Path.Combine(models, "batching-off", SmallModel, "1", "model.onnx"), SmallModel, 1, cancellationToken);

            Step("bare Kestrel ceiling");
            await MeasureCeilingAsync(load, cancellationToken);

            if (serverBuilt)
            {
                var serverDll = Path.Combine(root, "Hyperion.Inference", "bin", "Release", "net10.0", "Hyperion.Inference.dll");
                Step("inference server, batching off");
                await MeasureServerAsync(load, serverDll, Path.Combine(models, "batching-off"), BatchingOffScenario, cancellationToken);
                Step("inference server, batching on");
                await MeasureServerAsync(load, serverDll, Path.Combine(models, "batching-on"), BatchingOnScenario, cancellationToken);
            }

            Report(root, load);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
        finally
        {
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

        return true;
    }

    private async Task<bool> BuildServerAsync(string root, CancellationToken cancellationToken)
    {
        var project = Path.Combine(root, "Hyperion.Inference", "Hyperion.Inference.csproj");
        if (options.Build)
        {
            Step("building Hyperion.Inference (Release)");
            var (exitCode, output) = await Toolchain.RunAsync(Toolchain.DotnetHost, ["build", project, "-c", "Release", "--nologo", "-v", "q"], root, cancellationToken);
            if (exitCode != 0)
            {
                Skip($"building {project} failed, so the server rows are missing: {LastLines(output)}");
                return false;
            }
        }

        return true;
    }

    private void MeasureInProcess(string modelPath, string model, int batch, CancellationToken cancellationToken)
    {
        var result = OrtBaseline.Measure(modelPath, batch, options.Warmup, options.Duration, cancellationToken);
        Add(new ResultRow(InProcessScenario, model, batch, "1 caller", result.CallsPerSecond, result.RowsPerSecond, result.P50Milliseconds, result.P99Milliseconds, 0));
    }

    private async Task MeasureCeilingAsync(ILoadGenerator load, CancellationToken cancellationToken)
    {
        var port = Toolchain.FreePort();
        var self = typeof(BenchmarkRunner).Assembly.Location;

        // Server GC, as the Web SDK gives the inference server, so both HTTP stacks run alike.
        await using var ceiling = ChildProcess.Start(
            "bare Kestrel",
            Toolchain.DotnetHost,
            [self, CeilingServer.Command, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" });
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        if (!await ceiling.WaitReadyAsync(_http, [new Uri(baseUrl, "v2/health/ready")], ReadyTimeout, cancellationToken))
        {
            Skip($"the bare Kestrel ceiling did not start: {LastLines(ceiling.OutputTail())}");
            return;
        }

        await MeasureServedAsync(load, CeilingScenario, baseUrl, SmallModel, _smallBody, 1, WithTarget(SmallTargetConcurrency), cancellationToken);
    }

    private async Task MeasureServerAsync(ILoadGenerator load, string serverDll, string repository, string scenario, CancellationToken cancellationToken)
    {
        if (!File.Exists(serverDll))
        {
            Skip($"{serverDll} is missing (build it with: dotnet build -c Release Hyperion.Inference), so the {scenario} rows are missing");
            return;
        }

        var port = Toolchain.FreePort();
        await using var server = ChildProcess.Start(
            "inference server",
            Toolchain.DotnetHost,
            [serverDll, "--model-repository", repository, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string>
            {
                // Per-request logging would measure the console, not the server.
                ["Logging__LogLevel__Default"] = "Warning",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        var baseUrl = new Uri($"http://127.0.0.1:{port}/");
        Uri[] ready = [new(baseUrl, "v2/health/ready"), new(baseUrl, $"v2/models/{SmallModel}/ready"), new(baseUrl, $"v2/models/{HeavyModel}/ready")];
        if (!await server.WaitReadyAsync(_http, ready, ReadyTimeout, cancellationToken))
        {
            var state = server.HasExited ? "exited" : $"was not ready within {ReadyTimeout.TotalSeconds:0} s";
            Skip($"the inference server ({scenario}) {state}, so its rows are missing; last output: {LastLines(server.OutputTail())}");
            return;
        }

        await MeasureServedAsync(load, scenario, baseUrl, SmallModel, _smallBody, 1, WithTarget(SmallTargetConcurrency), cancellationToken);
        await MeasureServedAsync(load, scenario, baseUrl, HeavyModel, _heavyBody, 1, WithTarget(HeavyTargetConcurrency), cancellationToken);
        if (scenario == BatchingOffScenario)
        {
            // Requests already at the baseline's batch size: what HTTP and JSON cost per row.
            await MeasureServedAsync(load, scenario, baseUrl, HeavyModel, _heavyBatchBody, BaselineBatch, [BatchedRequestConcurrency], cancellationToken);
        }
    }

    private IEnumerable<int> WithTarget(int targetConcurrency) =>
        options.Concurrencies.Append(targetConcurrency).Distinct().Order();

    /// <summary>
    /// Drives one endpoint at each concurrency. A served target is only a base URL, so a row
    /// through the gateway is one more call with the gateway's URL.
    /// </summary>
    private async Task MeasureServedAsync(ILoadGenerator load, string scenario, Uri baseUrl, string model, byte[] body, int batch, IEnumerable<int> concurrencies, CancellationToken cancellationToken)
    {
        var url = new Uri(baseUrl, $"v2/models/{model}/infer");
        if (await CheckAnswerAsync(url, body, cancellationToken) is { } problem)
        {
            Skip($"{scenario}, {model} batch {batch}: {problem}, so its rows are missing");
            return;
        }

        foreach (var concurrency in concurrencies)
        {
            var spec = new LoadSpec(url, body, concurrency, options.Duration);
            await load.RunAsync(spec with { Duration = options.Warmup }, cancellationToken);
            var result = await load.RunAsync(spec, cancellationToken);
            Add(new ResultRow(scenario, model, batch, concurrency.ToString(CultureInfo.InvariantCulture), result.RequestsPerSecond, result.RequestsPerSecond * batch, result.P50Milliseconds, result.P99Milliseconds, result.Errors));
            if (result.Errors > 0)
            {
                Skip($"{scenario}, {model} batch {batch} at {concurrency} connections: {result.Failed} non-2xx answers and {result.TransportErrors} broken or timed-out connections (not counted in req/s)");
            }
        }
    }

    /// <summary>Success means a 200 whose body has a non-empty "outputs" array; load steps then count non-2xx.</summary>
    private async Task<string?> CheckAnswerAsync(Uri url, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(url, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
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
        Console.WriteLine();
        Console.Write(ResultTable.Console(_rows, targets));

        var environment = string.Create(
            CultureInfo.InvariantCulture,
            $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}, .NET {Environment.Version}); load from {load.Name}, closed loop, {options.Duration.TotalSeconds:0.#} s per step after {options.Warmup.TotalSeconds:0.#} s warm-up; batch-1 JSON requests unless stated. Load generator, servers and ONNX Runtime share the same cores. Load average (1/5/15 min) before the run {_loadBefore ?? "unknown"}, after {LoadAverage() ?? "unknown"}: anything above zero is other work on the machine competing with the run.");
        var output = options.OutputPath ?? Path.Combine(root, "artifacts", "benchmarks", "results.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, ResultTable.Markdown(_rows, targets, environment, _notes));
        Console.WriteLine($"Markdown table written to {output}");
    }

    private List<TargetCheck> Targets()
    {
        var ceiling = Find(CeilingScenario, SmallModel, SmallTargetConcurrency);
        var smallOff = Find(BatchingOffScenario, SmallModel, SmallTargetConcurrency);
        var smallOn = Find(BatchingOnScenario, SmallModel, SmallTargetConcurrency);
        var heavyOff = Find(BatchingOffScenario, HeavyModel, HeavyTargetConcurrency);
        var heavyOn = Find(BatchingOnScenario, HeavyModel, HeavyTargetConcurrency);
        var baseline = _rows.FirstOrDefault(r => r.Scenario == InProcessScenario && r.Model == HeavyModel && r.Batch == BaselineBatch);
        var servedBatch = _rows.FirstOrDefault(r => r.Scenario == BatchingOffScenario && r.Model == HeavyModel && r.Batch == BaselineBatch);

        return
        [
            new("small model vs HTTP ceiling, batching off", $"{SmallModel} req/s ÷ bare Kestrel req/s, {SmallTargetConcurrency} connections", Ratio(smallOff?.RequestsPerSecond, ceiling?.RequestsPerSecond), 0.60),
            new("small model vs HTTP ceiling, batching on", $"{SmallModel} req/s ÷ bare Kestrel req/s, {SmallTargetConcurrency} connections", Ratio(smallOn?.RequestsPerSecond, ceiling?.RequestsPerSecond), 0.60),
            new("dynamic batching speed-up", $"{HeavyModel} rows/s batching on ÷ off, {HeavyTargetConcurrency} connections", Ratio(heavyOn?.RowsPerSecond, heavyOff?.RowsPerSecond), 4.0),
            new("served vs in-process ORT", $"{HeavyModel} served rows/s (batching on, {HeavyTargetConcurrency} connections, batch-1 requests) ÷ in-process rows/s at batch {BaselineBatch}", Ratio(heavyOn?.RowsPerSecond, baseline?.RowsPerSecond), 0.70),
            new("served tail latency", $"{HeavyModel} p99 ÷ p50, batching on, {HeavyTargetConcurrency} connections", heavyOn?.TailRatio, 3.0, AtLeast: false),
            new("served vs in-process ORT, same batch", $"{HeavyModel} served rows/s with batch-{BaselineBatch} requests (batching off, {BatchedRequestConcurrency} connections) ÷ in-process rows/s at batch {BaselineBatch}", Ratio(servedBatch?.RowsPerSecond, baseline?.RowsPerSecond)),
        ];
    }

    private ResultRow? Find(string scenario, string model, int concurrency) =>
        _rows.FirstOrDefault(r => r.Scenario == scenario && r.Model == model && r.Concurrency == concurrency.ToString(CultureInfo.InvariantCulture));

    private static double? Ratio(double? numerator, double? denominator) =>
        numerator is { } n && denominator is { } d && d > 0 ? n / d : null;

    private void Add(ResultRow row)
    {
        _rows.Add(row);
        var cells = ResultTable.Cells(row);
        Console.WriteLine($"  {cells[1]}, batch {cells[2]}, {cells[3]}: {cells[4]} req/s, {cells[5]} rows/s, p50 {cells[6]} ms, p99 {cells[7]} ms, {cells[9]} errors");
    }

    private void Skip(string why)
    {
        _notes.Add(why);
        Console.WriteLine($"  note: {why}");
    }

    private static string LastLines(string output) =>
        string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));

    /// <summary>The machine is shared, so the report says how busy it was.</summary>
    private static string? LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;

    private static void Step(string what) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {what}");

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
