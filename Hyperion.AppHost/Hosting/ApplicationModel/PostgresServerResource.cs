using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// A PostgreSQL server from the machine's binaries: initdb once into &lt;state&gt;/postgres/&lt;name&gt;/data,
/// then postgres on a loopback TCP port with password (SCRAM) authentication and no unix socket.
/// PostgreSQL refuses to run as root, so under root it runs as the postgres system user.
/// </summary>
public sealed class PostgresServerResource(string name, ParameterResource password) : ProcessResource(name), IResourceWithConnectionString
{
    public const string UserName = "postgres";
    private const string SystemUser = "postgres";

    public ParameterResource Password { get; } = password;

    public EndpointAnnotation PrimaryEndpoint => GetEndpoint("tcp");

    internal List<PostgresDatabaseResource> Databases { get; } = [];

    internal override ProcessSignal StopSignal => ProcessSignal.Interrupt; // "fast" shutdown: does not wait for clients to leave

    /// <summary>Npgsql form, without a database (Aspire's server connection string).</summary>
    public string GetConnectionString() =>
        $"Host={EndpointAnnotation.Host};Port={PrimaryEndpoint.GetPort(0).ToString(CultureInfo.InvariantCulture)};Username={UserName};Password={Password.Value}";

    public string ConnectionStringExpression =>
        $"Host={ManifestExpressions.EndpointHost(this, PrimaryEndpoint)};Port={ManifestExpressions.EndpointPort(this, PrimaryEndpoint)};Username={UserName};Password={ManifestExpressions.ParameterValue(Password)}";

    internal string GetDataDirectory(HostingContext context) => Path.Combine(GetHomeDirectory(context), "data");

    private string GetHomeDirectory(HostingContext context) => Path.Combine(context.StateDirectory, "postgres", Name);

    internal override IEnumerable<Prerequisite> CheckPrerequisites(HostingContext context)
    {
        if (context.Executables.FindPostgresBinDirectory() is null)
        {
            yield return new Prerequisite(Name, "initdb, postgres", $"not found on PATH or in {context.Options.PostgresInstallRoot}/*/bin", AptPackage: "postgresql");
            yield break;
        }
        if (HostingContext.IsRoot && !SystemUserExists())
        {
            yield return new Prerequisite(Name, $"the '{SystemUser}' system user", "does not exist (PostgreSQL refuses to run as root)", AptPackage: "postgresql");
        }
        if (HostingContext.IsRoot && context.Executables.Find("setpriv") is null)
        {
            yield return new Prerequisite(Name, "setpriv", "not found on PATH (needed to run PostgreSQL as the postgres user)", AptPackage: "util-linux");
        }
    }

    internal override async Task PrepareAsync(HostingContext context, CancellationToken cancellationToken)
    {
        var home = GetHomeDirectory(context);
        var data = GetDataDirectory(context);
        Directory.CreateDirectory(home);
        if (HostingContext.IsRoot)
        {
            await ChownAsync(context, home, cancellationToken);
            await EnsureReachableBySystemUserAsync(context, home, cancellationToken);
        }
        if (File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            return;
        }
        // No PG_VERSION: nothing or a half-finished initdb; start over.
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }
        Directory.CreateDirectory(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var passwordFile = Path.Combine(home, "initdb-password");
        await File.WriteAllTextAsync(passwordFile, Password.Value, cancellationToken);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            if (HostingContext.IsRoot)
            {
                await ChownAsync(context, home, cancellationToken);
            }
            var bin = context.Executables.FindPostgresBinDirectory()!;
            var (exitCode, output) = await RunToCompletionAsync(context, Path.Combine(bin, "initdb"),
                ["-D", data, "-U", UserName, "--pwfile", passwordFile, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-instructions"],
                home, cancellationToken);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"initdb failed with exit code {exitCode}:{Environment.NewLine}{output}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    internal override ProcessLaunch CreateLaunch(HostingContext context, int replica)
    {
        var bin = context.Executables.FindPostgresBinDirectory()!;
        return new ProcessLaunch(
            Path.Combine(bin, "postgres"),
            [
                "-D", GetDataDirectory(context),
                "-p", PrimaryEndpoint.GetPort(replica).ToString(CultureInfo.InvariantCulture),
                "-c", $"listen_addresses={EndpointAnnotation.Host}",
                "-c", "unix_socket_directories=",
                "-c", "logging_collector=off",
                .. ExtraArgs,
            ],
            GetHomeDirectory(context),
            HostingContext.IsRoot ? SystemUser : null);
    }

    internal override IHealthProbe CreateHealthProbe(HostingContext context, int replica) =>
        new PostgresHealthProbe(GetAdminConnectionString());

    /// <summary>The maintenance database, no pooling: for probes and creating databases.</summary>
    internal string GetAdminConnectionString() =>
        new NpgsqlConnectionStringBuilder(GetConnectionString()) { Database = "postgres", Pooling = false, Timeout = 3 }.ConnectionString;

    private static bool SystemUserExists() =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(SystemUser + ":", StringComparison.Ordinal));

    private static async Task ChownAsync(HostingContext context, string path, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunToCompletionAsync(context, "chown", ["-R", $"{SystemUser}:{SystemUser}", path], path, cancellationToken, asSystemUser: false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to the {SystemUser} user: {output}");
        }
    }

    /// <summary>initdb fails with a vague message when a parent folder is closed to the postgres user (say, under /root).</summary>
    private static async Task EnsureReachableBySystemUserAsync(HostingContext context, string home, CancellationToken cancellationToken)
    {
        var (exitCode, _) = await RunToCompletionAsync(context, "test", ["-w", home], home, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"The {SystemUser} system user cannot reach {home}: every parent folder needs execute permission for others (chmod o+x). " +
                $"Or point {HostingOptions.SectionName}:{nameof(HostingOptions.StateDirectory)} at a folder it can reach, such as /var/tmp/hyperion.");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunToCompletionAsync(
        HostingContext context, string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken, bool asSystemUser = true)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (asSystemUser && HostingContext.IsRoot)
        {
            start.FileName = context.Executables.Find("setpriv")!;
            foreach (var argument in ProcessSupervisor.SwitchUserArguments(SystemUser))
            {
                start.ArgumentList.Add(argument);
            }
            start.ArgumentList.Add(fileName);
        }
        else
        {
            start.FileName = fileName;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
