using System.Data;
using Npgsql;

namespace Hyperion.Orchestrator.Persistence;

/// <summary>
/// The connection, and the transaction when there is one, that a store method runs its statements on. A method that
/// takes part in its caller's transaction takes a <see cref="Db"/> first, so that a change, its audit entry and its
/// webhook rows commit together:
/// <code>
/// await using var db = await Db.BeginAsync(dataSource, cancellationToken);
/// await DeploymentStore.LockAsync(db, model, cancellationToken);
/// await AuditLog.AppendAsync(db, new AuditEntry(...), cancellationToken);
/// await db.CommitAsync(cancellationToken);
/// </code>
/// Whoever opened it (<see cref="BeginAsync(NpgsqlDataSource, CancellationToken)"/>, <see cref="OpenAsync"/>) disposes
/// it, which rolls back what was not committed and returns the connection to the pool; methods handed one never do.
/// Parameters are named (<c>@model</c>) and bound one a line with <see cref="DbCommandExtensions.Bind"/>.
/// </summary>
internal readonly record struct Db(NpgsqlConnection Connection, NpgsqlTransaction? Transaction) : IAsyncDisposable
{
    /// <summary>A pooled connection with a read-committed transaction open on it.</summary>
    public static Task<Db> BeginAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        BeginAsync(dataSource, IsolationLevel.ReadCommitted, cancellationToken);

    public static async Task<Db> BeginAsync(NpgsqlDataSource dataSource, IsolationLevel isolation, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            return new Db(connection, await connection.BeginTransactionAsync(isolation, cancellationToken));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A pooled connection without a transaction (each statement commits on its own).</summary>
    public static async Task<Db> OpenAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken) =>
        new(await dataSource.OpenConnectionAsync(cancellationToken), null);

    /// <summary>A command on this connection, in this transaction; the caller disposes it.</summary>
    public NpgsqlCommand Command(string sql) => new(sql, Connection, Transaction);

    public Task CommitAsync(CancellationToken cancellationToken) =>
        (Transaction ?? throw new InvalidOperationException("This Db has no transaction to commit (it was opened with OpenAsync).")).CommitAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Transaction is not null)
        {
            await Transaction.DisposeAsync();
        }
        await Connection.DisposeAsync();
    }
}
