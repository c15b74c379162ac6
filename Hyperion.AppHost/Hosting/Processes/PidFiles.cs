using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// One file per running process under &lt;state&gt;/pids, holding its pid and kernel start time. An AppHost
/// that was killed cannot stop its children; the next one reads these files and ends what is left.
/// The start time guards against killing an unrelated process that reused the pid.
/// </summary>
internal sealed class PidFiles(string directory, ILogger logger)
{
    public string Directory { get; } = directory;

    public void Write(string instanceName, int pid)
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(PathOf(instanceName), $"{pid} {ReadStartTime(pid)}\n");
    }

    public void Delete(string instanceName) => File.Delete(PathOf(instanceName));

    /// <summary>Kills the process groups recorded by an AppHost that did not stop cleanly.</summary>
    public async Task CleanUpStaleAsync(CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.pid"))
        {
            var parts = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 2
                && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)
                && NativeMethods.IsAlive(pid)
                && ReadStartTime(pid) == parts[1])
            {
                logger.LogWarning("Stopping {Resource} (pid {Pid}) left running by an AppHost that did not shut down cleanly", Path.GetFileNameWithoutExtension(file), pid);
                NativeMethods.SignalGroup(pid, ProcessSignal.Kill);
                for (var i = 0; i < 50 && NativeMethods.IsAlive(pid); i++)
                {
                    await Task.Delay(100, cancellationToken);
                }
            }
            File.Delete(file);
        }
    }

    private string PathOf(string instanceName) => Path.Combine(Directory, instanceName + ".pid");

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat: start time in clock ticks since boot; "" when the process is gone.</summary>
    internal static string ReadStartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may contain spaces; count from after it.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[19];
        }
        catch (IOException)
        {
            return "";
        }
    }
}
