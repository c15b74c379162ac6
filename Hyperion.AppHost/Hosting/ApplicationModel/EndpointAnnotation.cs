namespace Hyperion.AppHost.Hosting;

/// <summary>
/// A named endpoint of a resource. Each replica gets its own port: a fixed one (only with one replica)
/// or one allocated when the application is built.
/// </summary>
public sealed class EndpointAnnotation(string name, string scheme, int? port)
{
    public const string Host = "127.0.0.1";

    public string Name { get; } = name;

    /// <summary>"http" for HTTP/1.1 and h2c, "tcp" for Redis and PostgreSQL.</summary>
    public string Scheme { get; } = scheme;

    /// <summary>
    /// What the endpoint speaks, in Aspire's terms: "http" (HTTP/1.1), "http2" (h2c only, such as a gRPC port),
    /// or "tcp". Publishing tells Kubernetes and gateways how to talk to it.
    /// </summary>
    public string Transport { get; set; } = scheme is "http" or "https" ? "http" : "tcp";

    /// <summary>The port asked for; null or 0 means any free port.</summary>
    public int? Port { get; set; } = port;

    /// <summary>Reachable from outside the graph (the gateway); informational on a laptop, used by publish.</summary>
    public bool IsExternal { get; internal set; }

    internal int[] AllocatedPorts { get; set; } = [];

    public bool IsAllocated => AllocatedPorts.Length > 0;

    public int GetPort(int replica) => IsAllocated
        ? AllocatedPorts[replica]
        : throw new InvalidOperationException($"Endpoint '{Name}' has no port yet: ports are allocated when the application is built.");

    /// <summary>Written as Aspire writes service URLs: no trailing slash.</summary>
    public string GetUrl(int replica) => $"{Scheme}://{Host}:{GetPort(replica)}";

    /// <summary>When set, the replica receives its port in this environment variable (for executables that read PORT).</summary>
    public string? PortEnvironmentVariable { get; internal set; }
}
