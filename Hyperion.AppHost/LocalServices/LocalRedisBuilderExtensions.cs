using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Hyperion.AppHost.LocalServices;

public static class LocalRedisBuilderExtensions
{
    /// <summary>
    /// Redis from the machine's redis-server (no container engine runs here), healthy once it answers PING with
    /// its password; <c>WaitFor</c> waits for that, <c>WithReference</c> passes <c>ConnectionStrings__&lt;name&gt;</c>.
    /// </summary>
    internal static IResourceBuilder<LocalRedisResource> AddLocalRedis(this IDistributedApplicationBuilder builder, string name, LocalServiceContext local)
    {
        var server = MachineBinaries.Find("redis-server");
        if (server is null)
        {
            local.Missing.Add(new Prerequisite(name, "redis-server", "not found on PATH", "redis-server"));
        }
        var passwordValue = local.Secrets.GetOrCreate($"{name}-password");
        var password = builder.AddParameter($"{name}-password", passwordValue, secret: true);
        var port = FreePorts.Next();
        var redis = new LocalRedisResource(name, server ?? "redis-server", Path.Combine(local.StateDirectory, "redis", name), password.Resource);
        var configPath = Path.Combine(redis.DataDirectory, "redis.conf");

        var healthCheck = $"{name}_check";
        var connectionString = $"localhost:{port.ToString(CultureInfo.InvariantCulture)},password={passwordValue},abortConnect=false,connectTimeout=2000";
        builder.Services.AddHealthChecks().AddRedis(connectionString, name: healthCheck);

        return builder.AddResource(redis)
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: LocalRedisResource.PrimaryEndpointName, isProxied: false)
            .WithArgs(configPath)
            .WithIconName("Database")
            .OnBeforeResourceStarted((resource, _, cancellationToken) => WriteConfigAsync(resource, configPath, port, cancellationToken))
            .WithHealthCheck(healthCheck);
    }

    /// <summary>The password goes in a file only the owner reads, not on the command line where ps shows it.</summary>
    private static async Task WriteConfigAsync(LocalRedisResource redis, string configPath, int port, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(redis.DataDirectory);
        var config = string.Join('\n',
            // "-::1": IPv6 loopback when the machine has it; "localhost" in the connection string may resolve to either.
            "bind 127.0.0.1 -::1",
            $"port {port.ToString(CultureInfo.InvariantCulture)}",
            "protected-mode yes",
            "daemonize no",
            "logfile \"\"",
            $"dir \"{redis.DataDirectory}\"",
            "appendonly yes",
            "save \"\"",
            $"requirepass \"{await redis.Password.GetValueAsync(cancellationToken)}\"") + "\n";
        await using var stream = new FileStream(configPath, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(config);
    }
}
