using Aspire.Hosting.ApplicationModel;

namespace Hyperion.AppHost.LocalServices;

/// <summary>
/// The machine's redis-server as an Aspire resource: loopback only, password protected, append-only file under
/// &lt;state&gt;/redis/&lt;name&gt; so a restart keeps the data. Its connection string has Aspire's form for Redis.
/// </summary>
public sealed class LocalRedisResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";

    public ParameterResource Password { get; } = password;

    public string DataDirectory { get; } = dataDirectory;

    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)},password={Password}");
}
