namespace Hyperion.AppHost.Hosting;

/// <summary>Something the graph declares: a process, a database, a parameter.</summary>
public interface IResource
{
    string Name { get; }
}

/// <summary>A resource that services reach through <c>ConnectionStrings__&lt;name&gt;</c>.</summary>
public interface IResourceWithConnectionString : IResource
{
    string GetConnectionString();

    /// <summary>The same connection string as an Aspire manifest expression (<c>{cache.bindings.tcp.host}:...</c>), for publishing.</summary>
    string ConnectionStringExpression { get; }
}

/// <summary>A resource that services reach through <c>services__&lt;name&gt;__&lt;endpoint&gt;__&lt;replica&gt;</c>.</summary>
public interface IResourceWithEndpoints : IResource
{
    IReadOnlyList<EndpointAnnotation> Endpoints { get; }

    int Replicas { get; }
}

/// <summary>
/// A resource with no process of its own that becomes ready once something is done on its parent
/// (a database created on a server).
/// </summary>
public interface IProvisionedResource : IResource
{
    IResource Parent { get; }

    Task ProvisionAsync(HostingContext context, CancellationToken cancellationToken);
}

public abstract class Resource(string name) : IResource
{
    public string Name { get; } = name;

    /// <summary>Resources that must report healthy before this one starts.</summary>
    internal List<IResource> WaitDependencies { get; } = [];

    /// <summary>Resources whose connection string or endpoints this one receives.</summary>
    internal List<IResource> References { get; } = [];

    public override string ToString() => Name;
}
