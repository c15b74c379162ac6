using System.Globalization;

namespace Hyperion.Tests.TestSupport;

/// <summary>Reads /proc: what environment a service really received, and which processes are still alive.</summary>
public static class ProcessInspector
{
    /// <summary>
    /// The environment of <paramref name="pid"/> once it holds <paramref name="key"/>: a process just started may
    /// still be the forked child before its exec, showing the parent's environment.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadEnvironmentWithAsync(int pid, string key)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var environment = ReadEnvironment(pid);
            if (environment.ContainsKey(key) || DateTime.UtcNow > deadline)
            {
                return environment;
            }
            await Task.Delay(50);
        }
    }

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

    public static bool IsAlive(int pid)
    {
        // A zombie has exited; only its parent has not collected it yet.
        var status = TryRead($"/proc/{pid}/stat");
        return status is not null && status[(status.LastIndexOf(')') + 2)] != 'Z';
    }

    /// <summary>Live processes whose process group is one of <paramref name="groups"/> (what a resource forked).</summary>
    public static IReadOnlyList<string> FindInGroups(IReadOnlyCollection<int> groups)
    {
        var found = new List<string>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            var stat = TryRead($"/proc/{pid}/stat");
            if (stat is null)
            {
                continue;
            }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is the state, fields[2] the process group.
            if (fields[0] != "Z" && groups.Contains(int.Parse(fields[2], CultureInfo.InvariantCulture)))
            {
                found.Add($"{pid} {stat[..(stat.LastIndexOf(')') + 1)]}");
            }
        }
        return found;
    }

    /// <summary>Live processes whose command line mentions <paramref name="text"/> (a state directory, say).</summary>
    public static IReadOnlyList<string> FindByCommandLine(string text)
    {
        var found = new List<string>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            var commandLine = TryRead($"/proc/{pid}/cmdline")?.Replace('\0', ' ');
            if (commandLine is not null && commandLine.Contains(text, StringComparison.Ordinal) && IsAlive(pid))
            {
                found.Add($"{pid} {commandLine}");
            }
        }
        return found;
    }

    /// <summary>Live processes (not this one) whose command line or environment mentions <paramref name="text"/>: what a graph with that state directory started.</summary>
    public static IReadOnlyList<string> FindByEnvironmentOrCommandLine(string text)
    {
        var found = new List<string>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            var commandLine = TryRead($"/proc/{pid}/cmdline")?.Replace('\0', ' ');
            var environment = TryRead($"/proc/{pid}/environ");
            if ((commandLine?.Contains(text, StringComparison.Ordinal) == true || environment?.Contains(text, StringComparison.Ordinal) == true) && IsAlive(pid))
            {
                found.Add($"{pid} {commandLine}");
            }
        }
        return found;
    }

    /// <summary>The first live child of <paramref name="parent"/> (the service that <c>dotnet run</c> started), or the parent itself when it has none.</summary>
    public static int ChildOf(int parent)
    {
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            var stat = TryRead($"/proc/{pid}/stat");
            if (stat is null)
            {
                continue;
            }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is the state, fields[1] the parent.
            if (fields[0] != "Z" && int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
            {
                return pid;
            }
        }
        return parent;
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
