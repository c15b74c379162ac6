using System.ComponentModel.DataAnnotations;

namespace Hyperion.AppHost.Hosting;

/// <summary>How the AppHost runs the graph on this machine; bound from the "AppHost" section.</summary>
public sealed class HostingOptions
{
    public const string SectionName = "AppHost";

    /// <summary>Data, logs, secrets and pid files; relative paths are taken from the working directory.</summary>
    [Required]
    public string StateDirectory { get; set; } = ".hyperion";

    /// <summary>Where the dashboard listens; empty turns it off. Port 0 picks a free port.</summary>
    public string? DashboardUrl { get; set; } = "http://127.0.0.1:18888";

    /// <summary>Print every resource's output on the console, prefixed by its name.</summary>
    public bool EchoResourceOutput { get; set; } = true;

    /// <summary>Folders searched for redis-server, initdb and postgres; defaults to PATH.</summary>
    public string? SearchPath { get; set; }

    /// <summary>Where Debian keeps PostgreSQL's server binaries (one folder per major version).</summary>
    public string PostgresInstallRoot { get; set; } = "/usr/lib/postgresql";

    /// <summary>Time a resource gets to stop after SIGTERM (SIGINT for PostgreSQL) before it is killed.</summary>
    [Range(1, 300)]
    public int ShutdownTimeoutSeconds { get; set; } = 10;

    [Range(1, 300)]
    public int RestartBackoffMaxSeconds { get; set; } = 30;

    /// <summary>Size at which a resource's log file rolls over; a few rolled files are kept.</summary>
    [Range(1, 1024)]
    public int LogFileMaxMegabytes { get; set; } = 10;

    [Range(0, 20)]
    public int LogFilesKept { get; set; } = 3;

    /// <summary>Passed to services as ASPNETCORE_ENVIRONMENT / DOTNET_ENVIRONMENT.</summary>
    public string EnvironmentName { get; set; } = "Production";
}
