using System.Globalization;
using Hyperion.Benchmarks.Hosting;
using Hyperion.Benchmarks.InProcess;
using Microsoft.ML.OnnxRuntime;

namespace Hyperion.Benchmarks.GpuCheck;

/// <summary>
/// The check to run when a GPU machine is lent: every ONNX test model (testdata/models) and the benchmark models on
/// ONNX Runtime's CUDA execution provider and on CPU with the same inputs, outputs compared, then mlp_heavy's
/// batched throughput on both. ONNX Runtime's CUDA provider quietly runs nodes it lacks kernels for on CPU, and
/// says so in a warning on stderr; the throughput rows show whether the heavy model really ran on the GPU.
/// </summary>
public sealed class GpuCheckRunner(GpuCheckOptions options)
{
    public const int NoCuda = 3;

    private const string CudaProvider = "CUDAExecutionProvider";
    private const string HeavyModel = "mlp_heavy";
    private static readonly int[] ThroughputBatches = [1, 32, 256];

    private readonly List<string> _failures = [];
    private int _skipped;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        GpuCheckOptions options;
        try
        {
            options = GpuCheckOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(GpuCheckOptions.Usage);
            return 2;
        }
        if (options.ShowHelp)
        {
            Console.WriteLine(GpuCheckOptions.Usage);
            return 0;
        }
        return await new GpuCheckRunner(options).RunAsync(cancellationToken);
    }

    private async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        string root;
        try
        {
            root = Toolchain.FindRepositoryRoot(options.RepositoryRoot);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        Console.WriteLine($"ONNX Runtime {OrtEnv.Instance().GetVersionString()}, providers: {string.Join(", ", OrtEnv.Instance().GetAvailableProviders())}");
        if (CudaProblem() is { } problem)
        {
            Console.Error.WriteLine($"GPU check: no usable CUDA: {problem}");
            return NoCuda;
        }
        Console.WriteLine(options.AgainstCpu
            ? "Dry run (--against-cpu): the GPU side is a second CPU session."
            : $"GPU side: ONNX Runtime's CUDA execution provider on device {options.Device}.");

        var work = Directory.CreateTempSubdirectory("hyperion-gpu-check-");
        try
        {
            var models = ListModels(Path.Combine(root, "testdata", "models"), "");
            var bench = Path.Combine(work.FullName, "bench");
            if (await GenerateBenchModelsAsync(root, bench, cancellationToken))
            {
                models.AddRange(ListModels(Path.Combine(bench, "batching-off"), "bench/"));
            }

            Console.WriteLine();
            Console.WriteLine($"Outputs, GPU against CPU (PASS: float outputs within {options.Tolerance.ToString(CultureInfo.InvariantCulture)} of their largest CPU value, others equal)");
            Console.WriteLine($"  {"model",-22} {"output",-14} {"type",-8} {"shape",-10} {"max |gpu-cpu|",14} {"relative",10}  verdict");
            var first = true;
            foreach (var (name, path) in models)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!Compare(name, path) && first)
                {
                    // The first model failing to open on the GPU means CUDA itself is unusable, not that model.
                    Console.Error.WriteLine("GPU check: no usable CUDA: the first model did not open on the CUDA execution provider (above).");
                    return NoCuda;
                }
                first = false;
            }

            Console.WriteLine();
            if (models.FirstOrDefault(m => m.Name == "bench/" + HeavyModel) is { Path: { } heavy })
            {
                MeasureThroughput(heavy, cancellationToken);
            }
            else
            {
                Fail($"no throughput: {HeavyModel} was not generated (it needs {options.Python} with onnx and numpy; --python FILE)");
            }

            Console.WriteLine();
            if (_failures.Count == 0)
            {
                Console.WriteLine($"GPU check PASSED: {models.Count - _skipped} models compared ({_skipped} skipped: they fail on CPU too), every output within tolerance.");
                return 0;
            }
            Console.WriteLine($"GPU check FAILED ({_failures.Count}):");
            _failures.ForEach(f => Console.WriteLine($"  - {f}"));
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Why the CUDA execution provider cannot be added; null when it can (or in a dry run).</summary>
    private string? CudaProblem()
    {
        if (options.AgainstCpu)
        {
            return null;
        }
        if (!OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider))
        {
            return "this build carries ONNX Runtime's CPU package; build with -p:HyperionGpu=true (tools/gpu-check.sh does)";
        }
        try
        {
            using var probe = GpuSessionOptions();
            return null;
        }
        catch (OnnxRuntimeException ex)
        {
            return $"ONNX Runtime's CUDA execution provider did not load: {ex.Message}. ONNX Runtime 1.32's CUDA build needs " +
                "the CUDA 13 and cuDNN 9 libraries on the library path and an NVIDIA driver for CUDA 13 (tools/gpu-check.sh names the missing libraries)";
        }
    }

    private SessionOptions GpuSessionOptions()
    {
        var sessionOptions = new SessionOptions();
        if (!options.AgainstCpu)
        {
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(options.Device);
            }
            catch
            {
                sessionOptions.Dispose();
                throw;
            }
        }
        return sessionOptions;
    }

    /// <summary>Runs one model on both sides; false when it did not open on the GPU.</summary>
    private bool Compare(string name, string path)
    {
        InferenceSession cpu;
        try
        {
            cpu = new InferenceSession(path);
        }
        catch (OnnxRuntimeException ex)
        {
            Console.WriteLine($"  {name,-22} skipped: it does not open on CPU either: {ex.Message}");
            _skipped++;
            return true;
        }
        using (cpu)
        {
            InferenceSession gpu;
            try
            {
                using var gpuOptions = GpuSessionOptions();
                gpu = new InferenceSession(path, gpuOptions);
            }
            catch (OnnxRuntimeException ex)
            {
                Fail($"{name} did not open on the GPU: {ex.Message}");
                Console.WriteLine($"  {name,-22} FAIL: did not open on the GPU: {ex.Message}");
                return false;
            }
            using (gpu)
            {
                CompareRuns(name, cpu, gpu);
                return true;
            }
        }
    }

    private void CompareRuns(string name, InferenceSession cpu, InferenceSession gpu)
    {
        var inputs = SampleInputs.For(cpu, seed: name.Length);
        try
        {
            using var runOptions = new RunOptions();
            IDisposableReadOnlyCollection<OrtValue> expected;
            try
            {
                expected = cpu.Run(runOptions, cpu.InputNames, inputs, cpu.OutputNames);
            }
            catch (OnnxRuntimeException ex)
            {
                // digits_failing is built to fail every run; a model that fails on CPU has nothing to compare.
                Console.WriteLine($"  {name,-22} skipped: it fails on CPU too: {FirstLine(ex.Message)}");
                _skipped++;
                return;
            }
            using (expected)
            {
                IDisposableReadOnlyCollection<OrtValue> actual;
                try
                {
                    actual = gpu.Run(runOptions, gpu.InputNames, inputs, gpu.OutputNames);
                }
                catch (OnnxRuntimeException ex)
                {
                    Fail($"{name} ran on CPU but failed on the GPU: {ex.Message}");
                    Console.WriteLine($"  {name,-22} FAIL: ran on CPU but failed on the GPU: {FirstLine(ex.Message)}");
                    return;
                }
                using (actual)
                {
                    var i = 0;
                    foreach (var (cpuValue, gpuValue) in expected.Zip(actual))
                    {
                        Report(name, OutputComparison.Of(cpu.OutputNames[i++], cpuValue, gpuValue));
                    }
                }
            }
        }
        finally
        {
            inputs.ForEach(v => v.Dispose());
        }
    }

    private void Report(string model, OutputComparison comparison)
    {
        var pass = comparison.Passes(options.Tolerance);
        var verdict = pass ? "PASS" : "FAIL" + (comparison.Problem is { } problem ? $": {problem}" : "");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {model,-22} {comparison.Output,-14} {comparison.Type,-8} {comparison.Shape,-10} {comparison.MaxAbsolute,14:G4} {comparison.Relative,10:G4}  {verdict}"));
        if (!pass)
        {
            Fail(string.Create(CultureInfo.InvariantCulture,
                $"{model} output {comparison.Output}: max |gpu - cpu| {comparison.MaxAbsolute:G4}, relative {comparison.Relative:G4}{(comparison.Problem is null ? "" : ", " + comparison.Problem)}"));
        }
    }

    /// <summary>One caller back to back per side, as the benchmark's in-process baseline: rows/s at each batch.</summary>
    private void MeasureThroughput(string modelPath, CancellationToken cancellationToken)
    {
        var warmup = TimeSpan.FromMilliseconds(500);
        Console.WriteLine($"{HeavyModel} (512→2048→2048→10) throughput, one caller back to back, {options.Duration.TotalSeconds:0.#} s per row after {warmup.TotalMilliseconds:0} ms warm-up; inputs and outputs cross to and from the GPU every call, as in the server");
        Console.WriteLine($"  {"batch",5} {"CPU rows/s",12} {"CPU p50 ms",11} {"GPU rows/s",12} {"GPU p50 ms",11} {"GPU ÷ CPU",10}");
        foreach (var batch in ThroughputBatches)
        {
            using var onCpu = new OrtBaseline(modelPath, batch);
            using var gpuOptions = GpuSessionOptions();
            using var onGpu = new OrtBaseline(modelPath, batch, gpuOptions);
            var cpu = InProcessRun.Measure(onCpu, warmup, options.Duration, cancellationToken);
            var gpu = InProcessRun.Measure(onGpu, warmup, options.Duration, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {batch,5} {cpu.RowsPerSecond,12:N0} {cpu.P50Milliseconds,11:F3} {gpu.RowsPerSecond,12:N0} {gpu.P50Milliseconds,11:F3} {gpu.RowsPerSecond / cpu.RowsPerSecond,10:F2}"));
        }
    }

    private async Task<bool> GenerateBenchModelsAsync(string root, string directory, CancellationToken cancellationToken)
    {
        var script = Path.Combine(root, "tools", "models", "generate_models.py");
        try
        {
            var (exitCode, output) = await Toolchain.RunAsync(options.Python, [script, "--bench", directory], root, cancellationToken);
            if (exitCode == 0)
            {
                return true;
            }
            Fail($"{options.Python} {script} --bench failed (exit {exitCode}), so the benchmark models are missing: {output.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Fail($"{options.Python} did not start ({ex.Message}), so the benchmark models are missing; pass --python FILE (a Python with onnx and numpy)");
        }
        return false;
    }

    private static List<(string Name, string Path)> ListModels(string repository, string prefix)
    {
        var models = new List<(string, string)>();
        foreach (var folder in Directory.EnumerateDirectories(repository).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(folder, "1", "model.onnx");
            if (File.Exists(file))
            {
                models.Add((prefix + Path.GetFileName(folder), file));
            }
        }
        return models;
    }

    private void Fail(string what) => _failures.Add(what);

    private static string FirstLine(string text) => text.Split('\n')[0];
}
