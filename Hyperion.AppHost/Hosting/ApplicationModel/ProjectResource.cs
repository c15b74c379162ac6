namespace Hyperion.AppHost.Hosting;

/// <summary>
/// A .NET service of this solution, started as `dotnet &lt;built dll&gt;` with ASP.NET Core told where to
/// listen, as Aspire's AddProject. Healthy when its /health answers 200.
/// </summary>
public sealed class ProjectResource(string name, IProjectMetadata metadata) : ProcessResource(name)
{
    public const string HealthPath = "/health";

    public IProjectMetadata Metadata { get; } = metadata;

    internal override IEnumerable<Prerequisite> CheckPrerequisites(HostingContext context)
    {
        if (!File.Exists(Metadata.AssemblyPath))
        {
            yield return new Prerequisite(Name, Metadata.AssemblyPath, "is not built", AptPackage: null,
                Hint: $"Build it first: dotnet build {Metadata.ProjectPath}");
        }
    }

    internal override ProcessLaunch CreateLaunch(HostingContext context, int replica) =>
        new(DotNetHost.Find(context), [Metadata.AssemblyPath, .. ExtraArgs], Path.GetDirectoryName(Metadata.ProjectPath)!);

    internal override void AddOwnEnvironment(IDictionary<string, string> environment, HostingContext context, int replica)
    {
        if (context.IsPublishMode)
        {
            AddPublishedEnvironment(environment, context);
            return;
        }
        environment["ASPNETCORE_URLS"] = GetEndpoint("http").GetUrl(replica);
        environment["ASPNETCORE_ENVIRONMENT"] = context.Options.EnvironmentName;
        environment["DOTNET_ENVIRONMENT"] = context.Options.EnvironmentName;
        environment["OTEL_SERVICE_NAME"] = Name;
        environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={GetInstanceName(replica)}";
        if (context.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } otlp)
        {
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }
        // Several services share one console: one line per log entry keeps the prefixes readable.
        environment["Logging__Console__FormatterName"] = "simple";
        environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
    }

    /// <summary>
    /// In a container, as Aspire publishes projects: listen on every interface at the binding's target port
    /// (HTTP_PORTS), no instance id (the platform names pods), one JSON log entry per line for log collectors.
    /// </summary>
    private void AddPublishedEnvironment(IDictionary<string, string> environment, HostingContext context)
    {
        environment["HTTP_PORTS"] = ManifestExpressions.TargetPort(this, GetEndpoint("http"));
        environment["ASPNETCORE_ENVIRONMENT"] = context.Options.EnvironmentName;
        environment["DOTNET_ENVIRONMENT"] = context.Options.EnvironmentName;
        environment["OTEL_SERVICE_NAME"] = Name;
        environment["Logging__Console__FormatterName"] = "json";
    }

    internal override IHealthProbe? CreateHealthProbe(HostingContext context, int replica) =>
        new HttpHealthProbe(new Uri(GetEndpoint("http").GetUrl(replica) + HealthPath));
}

/// <summary>The dotnet host that runs the services: the one running the AppHost when it can be told.</summary>
internal static class DotNetHost
{
    public static string Find(HostingContext context)
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }
        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return processPath;
        }
        return context.Executables.Find("dotnet") ?? "dotnet";
    }
}
