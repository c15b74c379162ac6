using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Net.Client;
using Hyperion.Inference.Protocol.Grpc.V2;

namespace Hyperion.Tests.Protocol.Server;

/// <summary>
/// The real standalone server process (<c>dotnet Hyperion.Inference.dll --model-repository DIR --urls ...</c>), started
/// once per collection on free ports over a copy of testdata/models, plus a model that cannot load and one that
/// only the repository tests load and unload.
/// </summary>
public sealed class StandaloneServer : IAsyncLifetime
{
    /// <summary>Small enough that a test can exceed it cheaply.</summary>
    public const int MaxRequestBodyBytes = 1024 * 1024;

    public const string BrokenModel = "broken";
    public const string ReloadableModel = "reloadable";

    private readonly StringBuilder _output = new();
    private Process? _process;

    public string Repository { get; } = Path.Combine(Path.GetTempPath(), $"hyperion-protocol-tests-{Guid.NewGuid():N}");

    public HttpClient Http { get; private set; } = null!;

    public GRPCInferenceService.GRPCInferenceServiceClient Grpc { get; private set; } = null!;

    private GrpcChannel? _channel;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string TestModels => Path.Combine(RepositoryRoot, "testdata", "models");

    public async Task InitializeAsync()
    {
        CopyDirectory(TestModels, Repository);
        CopyDirectory(Path.Combine(TestModels, "fixed_no_batch"), Path.Combine(Repository, ReloadableModel));
        Directory.CreateDirectory(Path.Combine(Repository, BrokenModel, "1"));
        await File.WriteAllTextAsync(Path.Combine(Repository, BrokenModel, "1", "model.onnx"), "this is not an ONNX model");

        var httpPort = FreePort();
        var grpcPort = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[
            ServerAssembly(), "--model-repository", Repository,
            "--urls", $"http://127.0.0.1:{httpPort}", "--grpc-url", $"http://127.0.0.1:{grpcPort}",
            $"--Inference:MaxRequestBodyBytes={MaxRequestBodyBytes}", "--Logging:LogLevel:Default=Warning"])
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the inference server");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        await WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        _channel?.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        Directory.Delete(Repository, recursive: true);
    }

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

    public bool HasExited => _process?.HasExited ?? true;

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
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
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = Path.Combine(RepositoryRoot, "Hyperion.Inference", "bin", configuration, "net10.0", "Hyperion.Inference.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"build Hyperion.Inference first; {path} is missing", path);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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

    private static void CopyDirectory(string source, string destination)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StandaloneServerCollection : ICollectionFixture<StandaloneServer>
{
    public const string Name = "standalone inference server";
}
