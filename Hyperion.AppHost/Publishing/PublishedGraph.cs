namespace Hyperion.AppHost.Publishing;

/// <summary>
/// The declared graph as a deployment sees it: every resource with its environment written as manifest
/// expressions, its endpoints with the ports its container listens on, and what it references. Both the
/// Aspire manifest and the Kubernetes tree are written from this one snapshot.
/// </summary>
internal sealed record PublishedGraph(IReadOnlyList<PublishedResource> Resources)
{
    public IEnumerable<PublishedProject> Projects => Resources.OfType<PublishedProject>();

    public IEnumerable<PublishedBackingService> BackingServices => Resources.OfType<PublishedBackingService>();

    public PublishedResource Get(string name) =>
        Resources.FirstOrDefault(r => r.Name == name)
        ?? throw new InvalidOperationException($"The graph has no resource named '{name}'; it has: {string.Join(", ", Resources.Select(r => r.Name))}.");

    /// <summary>The backing service (Redis, PostgreSQL) a connection string resource lives on: itself, or a database's server.</summary>
    public PublishedBackingService? BackingServiceOf(string name) => Get(name) switch
    {
        PublishedBackingService service => service,
        PublishedDatabase database => (PublishedBackingService)Get(database.Server),
        _ => null,
    };
}

internal abstract record PublishedResource(string Name);

/// <summary>A value the deployment supplies (a password); generated locally, never published.</summary>
internal sealed record PublishedParameter(string Name, bool Secret) : PublishedResource(Name);

/// <summary>
/// An endpoint as a deployment exposes it: <see cref="TargetPort"/> is where the container listens,
/// <see cref="Port"/> where others reach it when the graph fixes one (the gateway's 5080).
/// </summary>
internal sealed record PublishedBinding(string Name, string Scheme, string Transport, int TargetPort, int? Port, bool IsExternal)
{
    /// <summary>The manifest's "protocol": every endpoint here is TCP.</summary>
    public const string Protocol = "tcp";

    public int ServicePort => Port ?? TargetPort;
}

/// <summary>A .NET service of the solution: one container image, one Deployment per pool.</summary>
internal sealed record PublishedProject(
    string Name,
    string ProjectPath,
    int Replicas,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    IReadOnlyList<PublishedBinding> Bindings,
    IReadOnlyList<string> References) : PublishedResource(Name)
{
    public PublishedBinding Http => Bindings.First(b => b.Name == "http");
}

/// <summary>Redis or PostgreSQL: a container of a public image (dev) or a managed service (prod).</summary>
internal sealed record PublishedBackingService(
    string Name,
    BackingServiceContainer Container,
    string ConnectionStringExpression,
    IReadOnlyList<PublishedBinding> Bindings,
    IReadOnlyList<string> Databases) : PublishedResource(Name)
{
    public PublishedBinding Primary => Bindings.Single();
}

/// <summary>A database on a PostgreSQL server; only a connection string (Aspire's value.v0).</summary>
internal sealed record PublishedDatabase(string Name, string DatabaseName, string Server, string ConnectionStringExpression) : PublishedResource(Name);

/// <summary>A value Aspire computed when it wrote the manifest (value.v0 that is not a database), used inside other expressions.</summary>
internal sealed record PublishedValue(string Name, string Expression) : PublishedResource(Name);
