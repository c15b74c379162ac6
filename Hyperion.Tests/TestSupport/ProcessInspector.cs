using System.Globalization;

namespace Hyperion.Tests.TestSupport;

/// <summary>Reads /proc: what environment a service really received, and which processes are still alive.</summary>
public static class ProcessInspector
{
    public static IReadOnlyDictionary<string, string> ReadEnvironment(int pid)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = entry.IndexOf('=');
            if (separator > 0)
            {
                environment[entry[..separator]] = entry[(separator + 1)..];
            }
        }
        return environment;
    }

    /// <summary>Live processes (not this one) whose command line mentions <paramref name="text"/>.</summary>
    public static IReadOnlyList<string> FindByCommandLine(string text) =>
        [.. OtherLiveProcesses().Where(p => p.CommandLine.Contains(text, StringComparison.Ordinal)).Select(p => $"{p.Pid} {p.CommandLine}")];

    /// <summary>Live processes (not this one) whose command line or environment mentions <paramref name="text"/>: what a graph with that state directory started.</summary>
    public static IReadOnlyList<string> FindByEnvironmentOrCommandLine(string text) =>
        [.. OtherLiveProcesses()
            .Where(p => p.CommandLine.Contains(text, StringComparison.Ordinal) || TryRead($"/proc/{p.Pid}/environ")?.Contains(text, StringComparison.Ordinal) == true)
            .Select(p => $"{p.Pid} {p.CommandLine}")];

    /// <summary>The first live child of <paramref name="parent"/> (the service that <c>dotnet run</c> started), or the parent itself when it has none.</summary>
    public static int ChildOf(int parent) =>
        OtherLiveProcesses().FirstOrDefault(p => p.Parent == parent)?.Pid ?? parent;

    private sealed record LiveProcess(int Pid, int Parent, string CommandLine);

    private static IEnumerable<LiveProcess> OtherLiveProcesses()
    {
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId
                || TryRead($"/proc/{pid}/stat") is not { } stat)
            {
                continue;
            }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is the state (Z: exited, only its parent has not collected it yet), fields[1] the parent.
            if (fields[0] != "Z")
            {
                yield return new LiveProcess(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), TryRead($"/proc/{pid}/cmdline")?.Replace('\0', ' ') ?? "");
            }
        }
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
