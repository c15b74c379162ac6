using Npgsql;

namespace Hyperion.AppHost.Hosting;

/// <summary>A database on a PostgreSQL server; ready once it exists (created on first start).</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource server) : Resource(name), IResourceWithConnectionString, IProvisionedResource
{
    public string DatabaseName { get; } = databaseName;

    public PostgresServerResource Server { get; } = server;

    public IResource Parent => Server;

    public string GetConnectionString() => $"{Server.GetConnectionString()};Database={DatabaseName}";

    public string ConnectionStringExpression => $"{ManifestExpressions.ConnectionString(Server)};Database={DatabaseName}";

    public async Task ProvisionAsync(HostingContext context, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Server.GetAdminConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.Add(new NpgsqlParameter { Value = DatabaseName });
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }
        // The name was checked against [A-Za-z_][A-Za-z0-9_]* when declared, so quoting is enough.
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{DatabaseName}\"", connection);
        try
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Created by a concurrent start; that is what we wanted.
        }
    }
}
