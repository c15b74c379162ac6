namespace Hyperion.AppHost.Hosting;

/// <summary>Any program on the machine, as Aspire's AddExecutable.</summary>
public sealed class ExecutableResource(string name, string command, string workingDirectory, IReadOnlyList<string> args) : ProcessResource(name)
{
    public string Command { get; } = command;

    public string WorkingDirectory { get; } = workingDirectory;

    public IReadOnlyList<string> Args { get; } = args;

    /// <summary>Path probed for HTTP health on the "http" endpoint; null means no HTTP health check.</summary>
    internal string? HttpHealthPath { get; set; }

    internal override IEnumerable<Prerequisite> CheckPrerequisites(HostingContext context)
    {
        if (context.Executables.Find(Command) is null)
        {
            yield return new Prerequisite(Name, Command, "not found on PATH", AptPackage: null);
        }
    }

    internal override ProcessLaunch CreateLaunch(HostingContext context, int replica) =>
        new(context.Executables.Find(Command) ?? Command, [.. Args, .. ExtraArgs], Path.GetFullPath(WorkingDirectory));

    internal override IHealthProbe? CreateHealthProbe(HostingContext context, int replica)
    {
        if (CustomHealthCheck is { } check)
        {
            var replicaContext = new ReplicaContext(this, replica, GetInstanceName(replica));
            return new DelegateHealthProbe(token => check(replicaContext, token));
        }
        return HttpHealthPath is null ? null : new HttpHealthProbe(new Uri(GetEndpoint("http").GetUrl(replica) + HttpHealthPath));
    }
}
