namespace Hyperion.AppHost.LocalServices;

/// <summary>Finds the machine's binaries: PATH first, then Debian's per-version PostgreSQL folders.</summary>
internal static class MachineBinaries
{
    /// <summary>Where Debian keeps PostgreSQL's server binaries, one folder per major version.</summary>
    public const string PostgresInstallRoot = "/usr/lib/postgresql";

    public static string? Find(string name)
    {
        if (Path.IsPathRooted(name))
        {
            return IsExecutable(name) ? name : null;
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// The folder holding initdb and postgres of one installation. Debian puts them in
    /// /usr/lib/postgresql/&lt;major&gt;/bin, off PATH; a symlink on PATH is followed to its folder so that
    /// both binaries come from the same version.
    /// </summary>
    public static string? FindPostgresBinDirectory()
    {
        if (Find("initdb") is { } initdb)
        {
            var resolved = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb;
            var directory = Path.GetDirectoryName(resolved)!;
            if (IsExecutable(Path.Combine(directory, "postgres")))
            {
                return directory;
            }
        }
        if (!Directory.Exists(PostgresInstallRoot))
        {
            return null;
        }
        return Directory.GetDirectories(PostgresInstallRoot)
            .Select(version => (Major: int.TryParse(Path.GetFileName(version), out var major) ? major : -1, Bin: Path.Combine(version, "bin")))
            .Where(v => v.Major > 0 && IsExecutable(Path.Combine(v.Bin, "initdb")) && IsExecutable(Path.Combine(v.Bin, "postgres")))
            .OrderByDescending(v => v.Major)
            .Select(v => v.Bin)
            .FirstOrDefault();
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
