using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>The external commands a run needs: the model generator, dotnet, free ports.</summary>
public static class Toolchain
{
    /// <summary>The dotnet host running us, so children use the same runtime.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    public static string FindRepositoryRoot(string? configured)
    {
        if (configured is not null)
        {
            return File.Exists(Path.Combine(configured, "Hyperion.sln"))
                ? Path.GetFullPath(configured)
                : throw new ArgumentException($"--repo {configured} does not contain Hyperion.sln.");
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Hyperion.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new ArgumentException("Could not find Hyperion.sln above the working directory; pass --repo DIR.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a command to completion; returns its exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
