using System.Globalization;
using System.Text.Json;

namespace Hyperion.Benchmarks.Load;

/// <summary>
/// Debian's wrk: a C load generator that costs the shared cores far less than a .NET client.
/// A generated Lua script sets the POST body and prints the summary as one JSON line.
/// </summary>
public sealed class WrkLoadGenerator(string wrkPath, string workDirectory) : ILoadGenerator
{
    public const string DefaultPath = "/usr/bin/wrk";

    private const string ResultMarker = "HYPERION_RESULT ";

    private const string ScriptTemplate = """
        local f = assert(io.open("{BODY}", "rb"))
        wrk.method = "POST"
        wrk.body = f:read("*a")
        f:close()
        {HEADERS}

        function done(summary, latency, requests)
          local e = summary.errors
          io.write(string.format(
            '{MARKER}{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
            '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
            summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
            latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
        end
        """;

    private int _scripts;

    public string Name => "wrk";

    public async Task<LoadResult> RunAsync(LoadSpec spec, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _scripts);
        var bodyPath = Path.Combine(workDirectory, $"wrk-body-{id}.json");
        var scriptPath = Path.Combine(workDirectory, $"wrk-{id}.lua");
        await File.WriteAllBytesAsync(bodyPath, spec.Body.Bytes, cancellationToken);
        var headers = spec.Body.Headers
            .Append(KeyValuePair.Create("Content-Type", spec.Body.ContentType))
            .Select(h => $"wrk.headers[{LuaString(h.Key)}] = {LuaString(h.Value)}");
        await File.WriteAllTextAsync(
            scriptPath,
            ScriptTemplate
                .Replace("{BODY}", bodyPath, StringComparison.Ordinal)
                .Replace("{HEADERS}", string.Join('\n', headers), StringComparison.Ordinal)
                .Replace("{MARKER}", ResultMarker, StringComparison.Ordinal),
            cancellationToken);

        // wrk takes whole seconds; one thread per core is the most two cores can use.
        var seconds = Math.Max(1, (int)Math.Round(spec.Duration.TotalSeconds));
        var threads = Math.Min(spec.Concurrency, Environment.ProcessorCount);
        string[] arguments =
        [
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", spec.Concurrency.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s",
            "--timeout", "10s",
            "-s", scriptPath,
            spec.Url.ToString(),
        ];
        var (exitCode, output) = await Hosting.Toolchain.RunAsync(wrkPath, arguments, workDirectory, cancellationToken);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(ResultMarker, StringComparison.Ordinal));
        if (exitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"wrk failed (exit {exitCode}): {output}");
        }

        using var json = JsonDocument.Parse(line[ResultMarker.Length..]);
        var root = json.RootElement;
        var requests = root.GetProperty("requests").GetInt64();
        var statusErrors = root.GetProperty("status_errors").GetInt64();
        return new LoadResult(
            requests - statusErrors,
            statusErrors,
            root.GetProperty("socket_errors").GetInt64(),
            TimeSpan.FromMicroseconds(root.GetProperty("duration_us").GetInt64()),
            root.GetProperty("p50_us").GetInt64() / 1000.0,
            root.GetProperty("p90_us").GetInt64() / 1000.0,
            root.GetProperty("p99_us").GetInt64() / 1000.0,
            root.GetProperty("max_us").GetInt64() / 1000.0);
    }

    private static string LuaString(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
