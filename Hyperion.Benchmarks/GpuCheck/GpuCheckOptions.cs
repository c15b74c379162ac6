using System.Globalization;

namespace Hyperion.Benchmarks.GpuCheck;

/// <summary>The options of <c>--gpu-check</c>, the mode tools/gpu-check.sh runs.</summary>
public sealed record GpuCheckOptions
{
    public const string Command = "--gpu-check";

    public const string Usage = """
        usage: dotnet Hyperion.Benchmarks.dll --gpu-check [options]   (tools/gpu-check.sh builds and runs it)

        Runs every ONNX test model on ONNX Runtime's CUDA execution provider and on CPU with the same
        inputs, compares the outputs, and measures mlp_heavy's batched throughput on both. Needs the GPU
        build (-p:HyperionGpu=true). Exit code: 0 all PASS, 1 a FAIL or a missing part, 2 bad options,
        3 no usable CUDA.

          --device N       CUDA device id (default 0)
          --tolerance X    largest accepted difference of a floating-point output, relative to its
                           largest CPU value: max |gpu - cpu| / max |cpu| (default 0.005: ONNX Runtime's
                           CUDA provider uses TF32 for FP32 matrix products on Ampere and later);
                           integer, BOOL and BYTES outputs must be equal
          --duration T     measured time per throughput row (default 2s; 500ms, 10s)
          --repo DIR       repository root (default: found from the working directory)
          --python FILE    Python with onnx and numpy for the benchmark models (default /usr/bin/python3)
          --against-cpu    a dry run of the check itself on a machine without a GPU: the "GPU" side is a
                           second CPU session, so every difference must be 0
          --help
        """;

    public int Device { get; init; }

    public double Tolerance { get; init; } = 0.005;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(2);

    public string? RepositoryRoot { get; init; }

    public string Python { get; init; } = "/usr/bin/python3";

    public bool AgainstCpu { get; init; }

    public bool ShowHelp { get; init; }

    public static GpuCheckOptions Parse(IReadOnlyList<string> args)
    {
        var options = new GpuCheckOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            options = arg switch
            {
                "--device" => options with { Device = ParseDevice(Value()) },
                "--tolerance" => options with { Tolerance = ParseTolerance(Value()) },
                "--duration" => options with { Duration = BenchmarkOptions.ParseTime(arg, Value()) },
                "--repo" => options with { RepositoryRoot = Value() },
                "--python" => options with { Python = Value() },
                "--against-cpu" => options with { AgainstCpu = true },
                "--help" or "-h" => options with { ShowHelp = true },
                _ => throw new ArgumentException($"Unknown option '{arg}'."),
            };
        }
        return options;
    }

    private static int ParseDevice(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var device)
            ? device
            : throw new ArgumentException($"--device expects a CUDA device id (0 or more), got '{text}'.");

    private static double ParseTolerance(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var tolerance) && tolerance is >= 0 and < 1
            ? tolerance
            : throw new ArgumentException($"--tolerance expects a relative difference in [0, 1) such as 0.005, got '{text}'.");
}
