namespace Hyperion.AppHost.Hosting;

/// <summary>A resource backed by one OS process per replica, supervised by the AppHost.</summary>
public abstract class ProcessResource(string name) : Resource(name), IResourceWithEndpoints
{
    private readonly List<EndpointAnnotation> _endpoints = [];

    public IReadOnlyList<EndpointAnnotation> Endpoints => _endpoints;

    public int Replicas { get; internal set; } = 1;

    internal List<Action<EnvironmentCallbackContext>> EnvironmentCallbacks { get; } = [];

    internal List<string> ExtraArgs { get; } = [];

    internal Func<ReplicaContext, CancellationToken, Task<bool>>? CustomHealthCheck { get; set; }

    /// <summary>What asks the process to stop cleanly; SIGKILL follows after the grace period.</summary>
    internal virtual ProcessSignal StopSignal => ProcessSignal.Terminate;

    /// <summary>Name of one replica's process, as shown on the dashboard and in logs.</summary>
    public string GetInstanceName(int replica) => Replicas == 1 ? Name : $"{Name}-{replica}";

    public EndpointAnnotation GetEndpoint(string endpointName) =>
        _endpoints.FirstOrDefault(e => e.Name == endpointName)
        ?? throw new InvalidOperationException($"Resource '{Name}' has no endpoint named '{endpointName}'; it has: {string.Join(", ", _endpoints.Select(e => e.Name))}.");

    internal void AddEndpoint(EndpointAnnotation endpoint)
    {
        if (_endpoints.Any(e => e.Name == endpoint.Name))
        {
            throw new InvalidOperationException($"Resource '{Name}' already has an endpoint named '{endpoint.Name}'.");
        }
        _endpoints.Add(endpoint);
    }

    /// <summary>Executables this resource needs on the machine; reported all at once before anything starts.</summary>
    internal abstract IEnumerable<Prerequisite> CheckPrerequisites(HostingContext context);

    /// <summary>One-time work before the first start (create folders, initialise a data directory).</summary>
    internal virtual Task PrepareAsync(HostingContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    internal abstract ProcessLaunch CreateLaunch(HostingContext context, int replica);

    /// <summary>Variables the resource kind sets itself (ASPNETCORE_URLS for a project, nothing for Redis).</summary>
    internal virtual void AddOwnEnvironment(IDictionary<string, string> environment, HostingContext context, int replica)
    {
    }

    /// <summary>
    /// The replica's environment on top of the AppHost's own: what its kind sets, what it references
    /// (Aspire's keys: ConnectionStrings__&lt;name&gt;, services__&lt;name&gt;__&lt;endpoint&gt;__&lt;replica&gt;), then callbacks.
    /// </summary>
    internal Dictionary<string, string> BuildEnvironment(HostingContext context, int replica)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var endpoint in _endpoints)
        {
            if (endpoint.PortEnvironmentVariable is { } variable)
            {
                environment[variable] = context.IsPublishMode
                    ? ManifestExpressions.TargetPort(this, endpoint)
                    : endpoint.GetPort(replica).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        AddOwnEnvironment(environment, context, replica);
        foreach (var reference in References)
        {
            AddReferenceEnvironment(environment, reference, context.IsPublishMode);
        }
        var callbackContext = new EnvironmentCallbackContext(new ReplicaContext(this, replica, GetInstanceName(replica)), context);
        foreach (var callback in EnvironmentCallbacks)
        {
            callback(callbackContext);
        }
        foreach (var (key, value) in callbackContext.EnvironmentVariables)
        {
            environment[key] = value;
        }
        return environment;
    }

    private static void AddReferenceEnvironment(Dictionary<string, string> environment, IResource reference, bool isPublishMode)
    {
        if (reference is IResourceWithConnectionString withConnectionString)
        {
            environment[$"ConnectionStrings__{reference.Name}"] = isPublishMode
                ? ManifestExpressions.ConnectionString(reference)
                : withConnectionString.GetConnectionString();
        }
        if (reference is IResourceWithEndpoints withEndpoints)
        {
            foreach (var endpoint in withEndpoints.Endpoints)
            {
                if (endpoint.Scheme is not ("http" or "https"))
                {
                    continue;
                }
                if (isPublishMode)
                {
                    // One name for all replicas: the deployment balances between them (a Kubernetes Service).
                    environment[$"services__{reference.Name}__{endpoint.Name}__0"] = ManifestExpressions.EndpointUrl(reference, endpoint);
                    continue;
                }
                for (var replica = 0; replica < withEndpoints.Replicas; replica++)
                {
                    environment[$"services__{reference.Name}__{endpoint.Name}__{replica}"] = endpoint.GetUrl(replica);
                }
            }
        }
    }

    /// <summary>Null means "healthy as soon as it runs".</summary>
    internal abstract IHealthProbe? CreateHealthProbe(HostingContext context, int replica);
}

/// <summary>Everything needed to start one replica's process.</summary>
internal sealed record ProcessLaunch(
    string FileName,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    string? RunAsUser = null);

/// <summary>A prerequisite that is missing, with the command that installs it.</summary>
public sealed record Prerequisite(string Resource, string What, string Problem, string? AptPackage, string? Hint = null);

/// <summary>The replica a callback or health check is about.</summary>
public sealed record ReplicaContext(ProcessResource Resource, int ReplicaIndex, string InstanceName)
{
    public string GetEndpointUrl(string endpointName) => Resource.GetEndpoint(endpointName).GetUrl(ReplicaIndex);
}

/// <summary>Passed to WithEnvironment callbacks, once per replica launch.</summary>
public sealed class EnvironmentCallbackContext(ReplicaContext replica, HostingContext hosting)
{
    public Dictionary<string, string> EnvironmentVariables { get; } = new(StringComparer.Ordinal);

    /// <summary>Which local replica this is; when publishing there is none (the platform names its pods), so reading it is an error.</summary>
    public int ReplicaIndex => hosting.IsPublishMode ? throw NoReplicaWhenPublishing(nameof(ReplicaIndex)) : replica.ReplicaIndex;

    public string InstanceName => hosting.IsPublishMode ? throw NoReplicaWhenPublishing(nameof(InstanceName)) : replica.InstanceName;

    public string StateDirectory => hosting.StateDirectory;

    /// <summary>Publishing, not running: build values from manifest expressions and leave the machine alone.</summary>
    public bool IsPublishMode => hosting.IsPublishMode;

    /// <summary>This replica's URL; when publishing, the endpoint's manifest expression (the host name binds every interface).</summary>
    public string GetEndpointUrl(string endpointName) => hosting.IsPublishMode
        ? ManifestExpressions.EndpointUrl(replica.Resource, replica.Resource.GetEndpoint(endpointName))
        : replica.GetEndpointUrl(endpointName);

    private InvalidOperationException NoReplicaWhenPublishing(string property) => new(
        $"An environment callback of '{replica.Resource.Name}' reads {property} while the graph is published: every pod would get the value of local replica 0. " +
        $"Set per-replica values only when !{nameof(IsPublishMode)} (Kubernetes names pods itself).");
}
