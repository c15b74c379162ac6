using Aspire.Hosting.ApplicationModel;

namespace Hyperion.AppHost.LocalServices;

/// <summary>
/// The machine's PostgreSQL as an Aspire resource: initdb once into &lt;state&gt;/postgres/&lt;name&gt;/data, then
/// postgres on a loopback TCP port with password (SCRAM) authentication and no unix socket. Its connection string
/// has Aspire's form for a PostgreSQL server (no database).
/// </summary>
public sealed class LocalPostgresServerResource(string name, string command, string homeDirectory, ParameterResource password)
    : ExecutableResource(name, command, homeDirectory), IResourceWithConnectionString
{
    public const string UserName = "postgres";
    internal const string PrimaryEndpointName = "tcp";

    public ParameterResource Password { get; } = password;

    public string HomeDirectory { get; } = homeDirectory;

    public string DataDirectory => Path.Combine(HomeDirectory, "data");

    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    internal List<LocalPostgresDatabaseResource> Databases { get; } = [];

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={Password}");
}

/// <summary>A database the server creates when it first becomes ready; services get its connection string under its name.</summary>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    public string DatabaseName { get; } = databaseName;

    public LocalPostgresServerResource Parent { get; } = parent;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}
