using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>
/// The built standalone server (<c>dotnet Hyperion.Inference.dll ...</c>) as a child process on a free port:
/// started with the given arguments, awaited until <c>/v2/health/ready</c> answers 200, killed on dispose.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private ServerProcess(Process process, int httpPort)
    {
        _process = process;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Http { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What the server printed, for assertion messages.</summary>
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

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Starts the server on a free HTTP port (<c>--urls</c> is added) and waits until it is ready.</summary>
    public static async Task<ServerProcess> StartAsync(params string[] arguments)
    {
        var httpPort = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerAssembly());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{httpPort}");
        start.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var server = new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException("could not start the inference server"), httpPort);
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                // Waiting for exit also drains the redirected output, so the message holds the server's last words.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"the inference server exited with {_process.ExitCode}:\n{Output}");
            }
            try
            {
                using var response = await Http.GetAsync("/v2/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the inference server was not ready within 90 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string ServerAssembly()
    {
        // The test project references Hyperion.Inference, so the build that built these tests built the server too.
        var separator = Path.DirectorySeparatorChar;
        var configuration = AppContext.BaseDirectory.Contains($"{separator}Release{separator}") ? "Release" : "Debug";
        var path = Path.Combine(RepositoryRoot, "Hyperion.Inference", "bin", configuration, "net10.0", "Hyperion.Inference.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"build Hyperion.Inference first; {path} is missing", path);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Hyperion.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Hyperion.sln above {AppContext.BaseDirectory}");
    }
}
