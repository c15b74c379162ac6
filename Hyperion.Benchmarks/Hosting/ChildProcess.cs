using System.Diagnostics;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>A server started for one part of the run; keeps its last output lines for diagnosis.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _tail = new();

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {name}: {fileName}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public string OutputTail()
    {
        lock (_tail)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    /// <summary>Polls until every URL answers 2xx; false when the process exits or time runs out.</summary>
    public async Task<bool> WaitReadyAsync(HttpClient client, IReadOnlyList<Uri> urls, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var pending = new List<Uri>(urls);
        while (pending.Count > 0)
        {
            if (_process.HasExited || Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            for (var i = pending.Count - 1; i >= 0; i--)
            {
                try
                {
                    using var response = await client.GetAsync(pending[i], cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        pending.RemoveAt(i);
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }

            if (pending.Count > 0)
            {
                await Task.Delay(200, cancellationToken);
            }
        }

        return true;
    }

    /// <summary>Sends SIGTERM and waits up to <paramref name="grace"/> for the process to end on its own terms.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{Name} (pid {_process.Id}) did not stop within {grace.TotalSeconds:0} s of SIGTERM; killing it.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{Name} (pid {_process.Id}) did not exit within 10 s of being killed.");
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}
