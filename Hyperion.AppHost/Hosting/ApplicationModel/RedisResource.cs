using System.Globalization;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// redis-server from the machine, loopback only, password protected, append-only file under
/// &lt;state&gt;/redis/&lt;name&gt; so a restart keeps the data.
/// </summary>
public sealed class RedisResource(string name, ParameterResource password) : ProcessResource(name), IResourceWithConnectionString
{
    public ParameterResource Password { get; } = password;

    public EndpointAnnotation PrimaryEndpoint => GetEndpoint("tcp");

    /// <summary>StackExchange.Redis form, as Aspire writes it.</summary>
    public string GetConnectionString() =>
        $"{EndpointAnnotation.Host}:{PrimaryEndpoint.GetPort(0).ToString(CultureInfo.InvariantCulture)},password={Password.Value}";

    public string ConnectionStringExpression =>
        $"{ManifestExpressions.EndpointHost(this, PrimaryEndpoint)}:{ManifestExpressions.EndpointPort(this, PrimaryEndpoint)},password={ManifestExpressions.ParameterValue(Password)}";

    internal string GetDataDirectory(HostingContext context) => Path.Combine(context.StateDirectory, "redis", Name);

    internal override IEnumerable<Prerequisite> CheckPrerequisites(HostingContext context)
    {
        if (context.Executables.Find("redis-server") is null)
        {
            yield return new Prerequisite(Name, "redis-server", "not found on PATH", AptPackage: "redis-server");
        }
    }

    internal override Task PrepareAsync(HostingContext context, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(GetDataDirectory(context));
        return Task.CompletedTask;
    }

    internal override ProcessLaunch CreateLaunch(HostingContext context, int replica)
    {
        var directory = GetDataDirectory(context);
        // The password goes in a file only the owner reads, not on the command line where ps shows it.
        var configPath = Path.Combine(directory, "redis.conf");
        var config = string.Join('\n',
            $"bind {EndpointAnnotation.Host}",
            $"port {PrimaryEndpoint.GetPort(replica).ToString(CultureInfo.InvariantCulture)}",
            "protected-mode yes",
            "daemonize no",
            "logfile \"\"",
            $"dir \"{directory}\"",
            "appendonly yes",
            "save \"\"",
            $"requirepass \"{Password.Value}\"") + "\n";
        using (var stream = new FileStream(configPath, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(config);
        }
        File.SetUnixFileMode(configPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new ProcessLaunch(context.Executables.Find("redis-server")!, [configPath, .. ExtraArgs], directory);
    }

    internal override IHealthProbe CreateHealthProbe(HostingContext context, int replica) =>
        new RedisPingProbe(PrimaryEndpoint.GetPort(replica), Password.Value);
}
