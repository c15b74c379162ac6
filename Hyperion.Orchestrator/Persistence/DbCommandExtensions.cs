using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Orchestrator.Persistence;

/// <summary>
/// Named parameters, one a line: <c>command.Bind("model", model);</c> for <c>@model</c> in the SQL. The parameter is
/// typed by <typeparamref name="T"/> (no boxing), so a null is a NULL of that type (<c>string?</c> → text,
/// <c>long?</c> → bigint) and <c>@model::text IS NULL</c> needs no DBNull dance.
/// </summary>
internal static class DbCommandExtensions
{
    public static NpgsqlCommand Bind<T>(this NpgsqlCommand command, string name, T value)
    {
        command.Parameters.Add(new NpgsqlParameter<T>(name, value));
        return command;
    }

    /// <summary>Runs the query and reads every row with <paramref name="read"/>, in order.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(this NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    /// <summary>A <c>jsonb</c> parameter: <paramref name="value"/> in the control plane's JSON (snake_case); null is NULL.</summary>
    public static NpgsqlCommand BindJson(this NpgsqlCommand command, string name, object? value) =>
        command.BindJsonText(name, value is null ? null : JsonSerializer.Serialize(value, ControlPlaneJson.Options));

    /// <summary>A <c>jsonb</c> parameter from JSON text already written; null is NULL.</summary>
    public static NpgsqlCommand BindJsonText(this NpgsqlCommand command, string name, string? json)
    {
        command.Parameters.Add(new NpgsqlParameter<string?>(name, NpgsqlDbType.Jsonb) { TypedValue = json });
        return command;
    }
}
