using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Hyperion.AppHost.LocalServices;

namespace Hyperion.AppHost.Replicas;

/// <summary>
/// A service run as several processes that others address one by one: the orchestrator tracks which model versions
/// each inference replica serves, the gateway balances and breaks circuits per replica. Aspire's WithReplicas puts
/// one proxy in front of anonymous replicas, so when the graph runs each replica is a resource of its own
/// ("inference-0", "inference-1": its own logs, restarts and endpoints on the dashboard), and a reference passes
/// every replica's URL under the service's name (<c>services__inference__http__0</c>, <c>__1</c>, ...), as service
/// discovery reads them. When the graph is published it is one project with replicas behind one Kubernetes Service.
/// </summary>
public sealed class ReplicaSet
{
    private ReplicaSet(string service, IReadOnlyList<IResourceBuilder<ProjectResource>> replicas, bool published)
    {
        Service = service;
        Replicas = replicas;
        IsPublished = published;
    }

    public string Service { get; }

    /// <summary>One builder per replica when run; the one published project otherwise.</summary>
    public IReadOnlyList<IResourceBuilder<ProjectResource>> Replicas { get; }

    private bool IsPublished { get; }

    /// <summary>Declares <paramref name="count"/> replicas of <typeparamref name="TProject"/>, each with its own HTTP endpoint and those named in <paramref name="extraHttpEndpoints"/>.</summary>
    public static ReplicaSet Add<TProject>(IDistributedApplicationBuilder builder, string service, int count, int? firstPort = null, params string[] extraHttpEndpoints)
        where TProject : IProjectMetadata, new()
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            var project = builder.AddProject<TProject>(service)
                .WithReplicas(count)
                .WithPublishedEndpoints(firstPort, extraHttpEndpoints);
            return new ReplicaSet(service, [project], published: true);
        }
        var replicas = new List<IResourceBuilder<ProjectResource>>(count);
        for (var index = 0; index < count; index++)
        {
            var name = count == 1 ? service : $"{service}-{index}";
            var replica = builder.AddProject<TProject>(name)
                .WithAnnotation(new ServiceReplicaAnnotation(service, index, count))
                .WithLocalEndpoints(name, index == 0 ? firstPort : null, extraHttpEndpoints);
            replicas.Add(replica);
        }
        return new ReplicaSet(service, replicas, published: false);
    }

    /// <summary>Applies <paramref name="configure"/> to every replica (with its index; 0 for the published project).</summary>
    public ReplicaSet Configure(Action<IResourceBuilder<ProjectResource>, int> configure)
    {
        for (var index = 0; index < Replicas.Count; index++)
        {
            configure(Replicas[index], index);
        }
        return this;
    }

    /// <summary>Gives <paramref name="consumer"/> every replica's URL for each of <paramref name="endpoints"/>.</summary>
    public void PassTo(IResourceBuilder<ProjectResource> consumer, params string[] endpoints)
    {
        if (IsPublished)
        {
            consumer.WithReference(Replicas[0]);
            return;
        }
        for (var index = 0; index < Replicas.Count; index++)
        {
            foreach (var endpoint in endpoints)
            {
                consumer.WithEnvironment($"services__{Service}__{endpoint}__{index}", Replicas[index].GetEndpoint(endpoint));
            }
        }
    }

    /// <summary>Starts <paramref name="consumer"/> once every replica is healthy.</summary>
    public void AwaitedBy(IResourceBuilder<ProjectResource> consumer)
    {
        foreach (var replica in Replicas)
        {
            consumer.WaitFor(replica);
        }
    }
}

/// <summary>Endpoints of the graph's projects: proxy-less when run (no hop between services), Aspire's defaults when published.</summary>
public static class ProjectEndpointExtensions
{
    /// <summary>Where a project's container serves "http" when published (the .NET images' ASPNETCORE_HTTP_PORTS); further endpoints take the next ports.</summary>
    public const int PublishedHttpPort = 8080;

    /// <summary>
    /// "http", then each of <paramref name="extraHttpEndpoints"/> (h2c: OIP's gRPC service), on ports of their own.
    /// Only "http" goes into ASPNETCORE_URLS: the services open their gRPC listener themselves from the URL they are given.
    /// </summary>
    internal static IResourceBuilder<ProjectResource> WithLocalEndpoints(this IResourceBuilder<ProjectResource> project, string name, int? httpPort, string[] extraHttpEndpoints)
    {
        var port = httpPort is > 0 ? httpPort.Value : FreePorts.Next();
        if (httpPort is > 0 && !FreePorts.IsFree(port))
        {
            throw new InvalidOperationException(
                $"Port {port} for '{name}' is in use. Stop what uses it (ss -ltnp 'sport = :{port}') or choose another port with --Hyperion:GatewayPort=PORT.");
        }
        project.WithEndpoint(port: port, targetPort: port, scheme: "http", name: "http", isProxied: false)
            .WithServiceReferenceEnvironment();
        foreach (var endpoint in extraHttpEndpoints)
        {
            var extra = FreePorts.Next();
            project.WithEndpoint(port: extra, targetPort: extra, scheme: "http", name: endpoint, isProxied: false)
                .WithEndpoint(endpoint, e => e.Transport = "http2");
        }
        return project.WithEndpointsInEnvironment(endpoint => endpoint.Name == "http");
    }

    /// <summary>
    /// A reference passes what the services read (<c>ConnectionStrings__*</c>, <c>services__*</c>), not Aspire's other
    /// forms (<c>CACHE_URI</c>, <c>HYPERION_PASSWORD</c>, ...): fewer copies of each secret in every pod's environment.
    /// </summary>
    private static IResourceBuilder<ProjectResource> WithServiceReferenceEnvironment(this IResourceBuilder<ProjectResource> project) =>
        project.WithReferenceEnvironment(ReferenceEnvironmentInjectionFlags.ConnectionString | ReferenceEnvironmentInjectionFlags.ServiceDiscovery);

    internal static IResourceBuilder<ProjectResource> WithPublishedEndpoints(this IResourceBuilder<ProjectResource> project, int? httpPort, string[] extraHttpEndpoints)
    {
        project.WithEndpoint(port: httpPort is > 0 ? httpPort : null, targetPort: PublishedHttpPort, scheme: "http", name: "http")
            .WithServiceReferenceEnvironment();
        var next = PublishedHttpPort;
        foreach (var endpoint in extraHttpEndpoints)
        {
            project.WithEndpoint(targetPort: ++next, scheme: "http", name: endpoint)
                .WithEndpoint(endpoint, e => e.Transport = "http2");
        }
        return project.WithEndpointsInEnvironment(endpoint => endpoint.Name == "http");
    }
}
