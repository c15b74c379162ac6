using Hyperion.Orchestrator.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace Hyperion.Tests.Persistence;

/// <summary>The store helper without a server: commands land on the Db's connection and transaction, parameters are named and typed.</summary>
public sealed class DbTests
{
    [Fact]
    public void A_command_runs_on_the_dbs_connection()
    {
        using var connection = new NpgsqlConnection();
        var db = new Db(connection, Transaction: null);
        using var command = db.Command("SELECT 1");
        Assert.Same(connection, command.Connection);
        Assert.Null(command.Transaction);
        Assert.Equal("SELECT 1", command.CommandText);
    }

    [Fact]
    public async Task Committing_without_a_transaction_says_so()
    {
        await using var connection = new NpgsqlConnection();
        var db = new Db(connection, Transaction: null);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => db.CommitAsync(CancellationToken.None));
        Assert.Contains("no transaction", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_adds_a_named_parameter_typed_by_its_value()
    {
        using var command = new NpgsqlCommand("SELECT @model, @revision, @canary");
        command.Bind("model", "digits").Bind("revision", 7L).Bind("canary", (long?)null);

        Assert.Equal(["model", "revision", "canary"], command.Parameters.Select(parameter => parameter.ParameterName));
        var model = Assert.IsType<NpgsqlParameter<string>>(command.Parameters["model"]);
        Assert.Equal("digits", model.TypedValue);
        Assert.Equal(7L, Assert.IsType<NpgsqlParameter<long>>(command.Parameters["revision"]).TypedValue);
        // A null keeps its type (bigint), so "@canary IS NULL" and "IS NOT DISTINCT FROM @canary" need no cast.
        Assert.Null(Assert.IsType<NpgsqlParameter<long?>>(command.Parameters["canary"]).TypedValue);
    }

    [Fact]
    public void BindJson_writes_the_control_planes_snake_case_json_as_jsonb_and_null_as_null()
    {
        using var command = new NpgsqlCommand("SELECT @details, @before");
        command.BindJson("details", new { PreviousRevision = 3 }).BindJson("before", null);

        var details = command.Parameters["details"];
        Assert.Equal(NpgsqlDbType.Jsonb, details.NpgsqlDbType);
        Assert.Equal("""{"previous_revision":3}""", details.Value);
        var before = command.Parameters["before"];
        Assert.Equal(NpgsqlDbType.Jsonb, before.NpgsqlDbType);
        Assert.Null(before.Value);
    }
}
