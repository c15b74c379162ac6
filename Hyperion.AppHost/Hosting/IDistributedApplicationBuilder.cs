using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost.Hosting;

/// <summary>Declares the graph, as Aspire's IDistributedApplicationBuilder.</summary>
public interface IDistributedApplicationBuilder
{
    IConfiguration Configuration { get; }

    HostingContext Context { get; }

    IReadOnlyList<IResource> Resources { get; }

    IResourceBuilder<T> AddResource<T>(T resource) where T : IResource;

    IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource;

    /// <summary>A line printed under the resource table once everything is healthy ("Admin key: ...").</summary>
    void AddStartupNote(string label, string value);

    /// <summary>
    /// Work to do once every resource is healthy (Aspire's AfterResourcesCreated, later): e.g. seeding a sample.
    /// A hook that fails is reported and does not stop the graph.
    /// </summary>
    void OnHealthy(string description, Func<DistributedApplication, CancellationToken, Task> callback);

    DistributedApplication Build();
}

/// <summary>A declared resource and the builder it belongs to; extension methods chain on it.</summary>
public interface IResourceBuilder<out T> where T : IResource
{
    T Resource { get; }

    IDistributedApplicationBuilder ApplicationBuilder { get; }
}

internal sealed class ResourceBuilder<T>(T resource, IDistributedApplicationBuilder applicationBuilder) : IResourceBuilder<T> where T : IResource
{
    public T Resource { get; } = resource;

    public IDistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;
}
