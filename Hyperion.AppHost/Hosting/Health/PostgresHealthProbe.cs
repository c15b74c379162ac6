using Npgsql;

namespace Hyperion.AppHost.Hosting;

/// <summary>Healthy when the server accepts a password login and runs a query.</summary>
internal sealed class PostgresHealthProbe(string connectionString) : IHealthProbe
{
    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken) is 1;
    }
}
