using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Hyperion.AppHost.LocalServices;

public static class LocalPostgresBuilderExtensions
{
    private const string SystemUser = "postgres";

    /// <summary>
    /// Turns SIGTERM into SIGINT: DCP stops an executable with SIGTERM, PostgreSQL's "smart" shutdown, which waits
    /// for every pooled client connection to close; SIGINT is its "fast" shutdown.
    /// </summary>
    private const string FastShutdownWrapper =
        "\"$@\" & child=$!; trap 'kill -INT \"$child\" 2>/dev/null' TERM INT; wait \"$child\"; status=$?; " +
        "while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; status=$?; done; exit $status";

    /// <summary>
    /// PostgreSQL from the machine's binaries (as the postgres user under root: PostgreSQL refuses to run as root),
    /// healthy once it accepts the password; <c>WaitFor</c> waits for that.
    /// </summary>
    internal static IResourceBuilder<LocalPostgresServerResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name, LocalServiceContext local)
    {
        var bin = MachineBinaries.FindPostgresBinDirectory();
        if (bin is null)
        {
            local.Missing.Add(new Prerequisite(name, "initdb, postgres", $"not found on PATH or in {MachineBinaries.PostgresInstallRoot}/*/bin", "postgresql"));
        }
        var setpriv = MachineBinaries.Find("setpriv");
        if (LocalServiceContext.IsRoot && !SystemUserExists())
        {
            local.Missing.Add(new Prerequisite(name, $"the '{SystemUser}' system user", "does not exist (PostgreSQL refuses to run as root)", "postgresql"));
        }
        if (LocalServiceContext.IsRoot && setpriv is null)
        {
            local.Missing.Add(new Prerequisite(name, "setpriv", "not found on PATH (needed to run PostgreSQL as the postgres user)", "util-linux"));
        }

        var passwordValue = local.Secrets.GetOrCreate($"{name}-password");
        var password = builder.AddParameter($"{name}-password", passwordValue, secret: true);
        var port = FreePorts.Next();
        var home = Path.Combine(local.StateDirectory, "postgres", name);
        var server = new LocalPostgresServerResource(name, LocalServiceContext.IsRoot ? setpriv ?? "setpriv" : "/bin/sh", home, password.Resource);
        var adminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "localhost",
            Port = port,
            Username = LocalPostgresServerResource.UserName,
            Password = passwordValue,
            Database = "postgres",
            Pooling = false,
            Timeout = 3,
        }.ConnectionString;

        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(adminConnectionString, name: healthCheck);

        var postgres = Path.Combine(bin ?? "/usr/lib/postgresql/bin", "postgres");
        string[] launch =
        [
            "-c", FastShutdownWrapper, "postgres-fast-shutdown",
            postgres,
            "-D", server.DataDirectory,
            "-p", port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=localhost",
            "-c", "unix_socket_directories=",
            "-c", "logging_collector=off",
        ];
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (@event, cancellationToken) =>
        {
            // Aspire moves a container's databases along with it, not an executable's: they start running here.
            var notifications = @event.Services.GetRequiredService<ResourceNotificationService>();
            foreach (var database in server.Databases)
            {
                await CreateDatabaseAsync(adminConnectionString, database.DatabaseName, cancellationToken);
                await notifications.PublishUpdateAsync(database, snapshot => snapshot with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                });
            }
        });

        return builder.AddResource(server)
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalPostgresServerResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(LocalServiceContext.IsRoot ? [$"--reuid={SystemUser}", $"--regid={SystemUser}", "--init-groups", "--", "/bin/sh", .. launch] : launch)
            .WithIconName("DatabaseStack")
            .OnBeforeResourceStarted((resource, _, cancellationToken) => InitializeDataDirectoryAsync(resource, Path.Combine(bin ?? "", "initdb"), passwordValue, cancellationToken))
            .WithHealthCheck(healthCheck);
    }

    /// <summary>A database created on the server when it is first ready; healthy once it accepts connections.</summary>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(this IResourceBuilder<LocalPostgresServerResource> builder, string name, string? databaseName = null)
    {
        databaseName ??= name;
        if (!(databaseName.Length > 0 && (char.IsAsciiLetter(databaseName[0]) || databaseName[0] == '_')
              && databaseName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')))
        {
            throw new ArgumentException($"Database name '{databaseName}' is invalid: use letters, digits and '_', starting with a letter or '_'.", nameof(databaseName));
        }
        var database = new LocalPostgresDatabaseResource(name, databaseName, builder.Resource);
        builder.Resource.Databases.Add(database);

        string? connectionString = null;
        builder.ApplicationBuilder.Eventing.Subscribe<ConnectionStringAvailableEvent>(database, async (_, cancellationToken) =>
            connectionString = await database.ConnectionStringExpression.GetValueAsync(cancellationToken));
        var healthCheck = $"{name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().AddNpgSql(
            _ => connectionString ?? throw new InvalidOperationException($"The connection string of '{name}' is not known yet."), name: healthCheck);

        return builder.ApplicationBuilder.AddResource(database).WithHealthCheck(healthCheck);
    }

    private static async Task CreateDatabaseAsync(string adminConnectionString, string databaseName, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", databaseName);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }
        // The name was checked against [A-Za-z_][A-Za-z0-9_]* when declared; identifiers cannot be parameters.
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{databaseName}\"", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task InitializeDataDirectoryAsync(LocalPostgresServerResource server, string initdb, string password, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(server.HomeDirectory);
        if (LocalServiceContext.IsRoot)
        {
            await ChownAsync(server.HomeDirectory, cancellationToken);
            await EnsureReachableBySystemUserAsync(server.HomeDirectory, cancellationToken);
        }
        if (File.Exists(Path.Combine(server.DataDirectory, "PG_VERSION")))
        {
            return;
        }
        // No PG_VERSION: nothing, or a half-finished initdb; start over.
        if (Directory.Exists(server.DataDirectory))
        {
            Directory.Delete(server.DataDirectory, recursive: true);
        }
        Directory.CreateDirectory(server.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var passwordFile = Path.Combine(server.HomeDirectory, "initdb-password");
        await File.WriteAllTextAsync(passwordFile, password, cancellationToken);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            if (LocalServiceContext.IsRoot)
            {
                await ChownAsync(server.HomeDirectory, cancellationToken);
            }
            var (exitCode, output) = await RunAsync(initdb,
                ["-D", server.DataDirectory, "-U", LocalPostgresServerResource.UserName, "--pwfile", passwordFile, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-instructions"],
                server.HomeDirectory, asSystemUser: true, cancellationToken);
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

    private static bool SystemUserExists() =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(SystemUser + ":", StringComparison.Ordinal));

    private static async Task ChownAsync(string path, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunAsync("chown", ["-R", $"{SystemUser}:{SystemUser}", path], path, asSystemUser: false, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to the {SystemUser} user: {output}");
        }
    }

    /// <summary>initdb fails with a vague message when a parent folder is closed to the postgres user (say, under /root).</summary>
    private static async Task EnsureReachableBySystemUserAsync(string home, CancellationToken cancellationToken)
    {
        var (exitCode, _) = await RunAsync("test", ["-w", home], home, asSystemUser: true, cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"The {SystemUser} system user cannot reach {home}: every parent folder needs execute permission for others (chmod o+x). " +
                "Or point Hyperion:StateDirectory at a folder it can reach, such as /var/tmp/hyperion.");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, bool asSystemUser, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            FileName = fileName,
        };
        if (asSystemUser && LocalServiceContext.IsRoot)
        {
            start.FileName = MachineBinaries.Find("setpriv")!;
            foreach (var argument in (string[])[$"--reuid={SystemUser}", $"--regid={SystemUser}", "--init-groups", "--", fileName])
            {
                start.ArgumentList.Add(argument);
            }
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
