using System.Globalization;

namespace Hyperion.Benchmarks;

public enum LoadClient
{
    Auto,
    Wrk,
    InProcess,
}

/// <summary>Command-line options; every default keeps a full run to a few minutes on two cores.</summary>
public sealed record BenchmarkOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project Hyperion.Benchmarks -- [options]

          --duration T       measured time per run (default 3s; 500ms, 10s, 1m)
          --rounds N         runs per step, round-robin across the servers; the table
                             shows the median run (default 3)
          --warmup T         unmeasured load before a step's first run (default 1s)
          --concurrency LIST connections to try, e.g. 1,8,32,64 (default); the targets'
                             own concurrencies (32 small, 64 heavy) always run
          --quick            2s runs at the targets' concurrencies only (about a minute)
          --client NAME      wrk (default when /usr/bin/wrk exists) or inprocess
          --output FILE      markdown table (default artifacts/benchmarks/results.md)
          --repo DIR         repository root (default: found from the working directory)
          --python FILE      Python with onnx and numpy (default /usr/bin/python3)
          --no-build         use the existing Release build of Hyperion.Inference
          --baseline-inference DIR
                             also serve with another build of Hyperion.Inference (DIR holds
                             its Hyperion.Inference.dll), batching off and on, interleaved
                             with this build's servers round by round: "(baseline)" rows and
                             this-build ÷ baseline ratios, for a before/after in one run
          --telemetry        the servers and the gateway export OTLP (traces at their default
                             10 % head sampling, metrics, logs) to a receiver, as under the AppHost
          --job-lines N      lines of the batch job run on the whole graph (the AppHost) at
                             the end (default 100000; 0 skips the job)
          --pipeline-connections N
                             connections of the two-step pipeline vs back-to-back client rows,
                             on the same graph before the job (default 32, and 1 always; 0 skips
                             them). With --job-lines 0 as well, no graph is started
          --help
        """;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(3);

    public int Rounds { get; init; } = 3;

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<int> Concurrencies { get; init; } = [1, 8, 32, 64];

    public bool Quick { get; init; }

    public LoadClient Client { get; init; } = LoadClient.Auto;

    public string? OutputPath { get; init; }

    public string? RepositoryRoot { get; init; }

    public string Python { get; init; } = "/usr/bin/python3";

    public bool Build { get; init; } = true;

    /// <summary>A directory with another build's Hyperion.Inference.dll to measure next to this one; null for none.</summary>
    public string? BaselineInference { get; init; }

    public bool Telemetry { get; init; }

    /// <summary>Lines of the batch job the run submits to the graph; 0 starts no graph.</summary>
    public int JobLines { get; init; } = 100_000;

    /// <summary>Connections of the pipeline rows (besides 1); 0 skips them.</summary>
    public int PipelineConnections { get; init; } = 32;

    /// <summary>Whether any row needs the whole graph.</summary>
    public bool NeedsGraph => JobLines > 0 || PipelineConnections > 0;

    public bool ShowHelp { get; init; }

    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchmarkOptions();
        TimeSpan? duration = null;
        IReadOnlyList<int>? concurrencies = null;
        int? rounds = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count
                ? args[++i]
                : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--duration": duration = ParseTime(arg, Value()); break;
                case "--rounds": rounds = ParseRounds(Value()); break;
                case "--warmup": options = options with { Warmup = ParseTime(arg, Value()) }; break;
                case "--concurrency": concurrencies = ParseConcurrencies(Value()); break;
                case "--quick": options = options with { Quick = true }; break;
                case "--client": options = options with { Client = ParseClient(Value()) }; break;
                case "--output": options = options with { OutputPath = Value() }; break;
                case "--repo": options = options with { RepositoryRoot = Value() }; break;
                case "--python": options = options with { Python = Value() }; break;
                case "--no-build": options = options with { Build = false }; break;
                case "--baseline-inference": options = options with { BaselineInference = Value() }; break;
                case "--telemetry": options = options with { Telemetry = true }; break;
                case "--job-lines": options = options with { JobLines = ParseJobLines(Value()) }; break;
                case "--pipeline-connections": options = options with { PipelineConnections = ParsePipelineConnections(Value()) }; break;
                case "--help" or "-h": options = options with { ShowHelp = true }; break;
                default: throw new ArgumentException($"Unknown option '{arg}'.");
            }
        }

        if (options.Quick)
        {
            options = options with { Duration = TimeSpan.FromSeconds(2), Concurrencies = [] };
        }

        return options with
        {
            Duration = duration ?? options.Duration,
            Concurrencies = concurrencies ?? options.Concurrencies,
            Rounds = rounds ?? options.Rounds,
        };
    }

    private static int ParseJobLines(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var lines) && lines <= 10_000_000
            ? lines
            : throw new ArgumentException($"--job-lines expects a number of lines in 0..10000000, got '{text}'.");

    private static int ParsePipelineConnections(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var connections) && connections <= 1024
            ? connections
            : throw new ArgumentException($"--pipeline-connections expects a number of connections in 0..1024 (0 skips the pipeline rows), got '{text}'.");

    /// <summary>Accepts 500ms, 10s, 2m or a plain number of seconds.</summary>
    public static TimeSpan ParseTime(string option, string text)
    {
        var (number, scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new ArgumentException($"{option} expects a positive time such as 500ms, 10s or 1m, got '{text}'.");
        }

        return TimeSpan.FromSeconds(value * scale);
    }

    private static int[] ParseConcurrencies(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] is < 1 or > 1024)
            {
                throw new ArgumentException($"--concurrency expects a comma-separated list of integers in 1..1024, got '{text}'.");
            }
        }

        return values;
    }

    private static int ParseRounds(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rounds) && rounds is >= 1 and <= 20
            ? rounds
            : throw new ArgumentException($"--rounds expects an integer in 1..20, got '{text}'.");

    private static LoadClient ParseClient(string text) => text switch
    {
        "wrk" => LoadClient.Wrk,
        "inprocess" => LoadClient.InProcess,
        _ => throw new ArgumentException($"--client expects 'wrk' or 'inprocess', got '{text}'."),
    };
}
