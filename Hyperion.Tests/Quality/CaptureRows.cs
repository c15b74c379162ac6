using System.Globalization;
using System.Text.Json.Nodes;
using Hyperion.Tests.ControlPlane;
using Npgsql;

namespace Hyperion.Tests.Quality;

/// <summary>
/// Captures written straight into the graph's PostgreSQL, as the capture ingestor writes them (tensors by name, each
/// {"datatype", "shape", "data"}), and digit rows drawn from the baseline profile's own histograms.
/// </summary>
internal static class CaptureRows
{
    public static JsonObject DigitsProfile { get; } = JsonNode.Parse(RegistryTestData.BaselineProfile)!.AsObject();

    public static double[] Edges { get; } = [.. DigitsProfile["bins"]!["edges"]!.AsArray().Select(e => e!.GetValue<double>())];

    public static IReadOnlyList<(string Name, int Index, long[] Counts)> Features { get; } =
        [.. DigitsProfile["features"]!.AsArray().Select(f => (
            f!["name"]!.GetValue<string>(),
            f["index"]!.GetValue<int>(),
            f["counts"]!.AsArray().Select(c => c!.GetValue<long>()).ToArray()))];

    /// <summary>64-pixel rows whose every feature is drawn from its baseline histogram (a bin by its count, then a value uniform within it).</summary>
    public static double[][] FromBaseline(int rows, int seed)
    {
        var random = new Random(seed);
        var result = new double[rows][];
        for (var r = 0; r < rows; r++)
        {
            var row = new double[64];
            foreach (var (_, index, counts) in Features)
            {
                var pick = random.NextInt64(counts.Sum());
                var bin = 0;
                while (pick >= counts[bin])
                {
                    pick -= counts[bin];
                    bin++;
                }
                row[index] = Edges[bin] + (random.NextDouble() * (Edges[bin + 1] - Edges[bin]));
            }
            result[r] = row;
        }
        return result;
    }

    /// <summary>
    /// The test's own PSI of one feature over <paramref name="rows"/>: bins [eᵢ, eᵢ₊₁) (the last closed, values beyond the
    /// edges in the end bins), shares with an empty bin counted as 0.0001, Σ (a − e) ln(a / e).
    /// </summary>
    public static double Psi(double[][] rows, int feature)
    {
        var (_, index, baseline) = Features[feature];
        var live = new long[baseline.Length];
        foreach (var row in rows)
        {
            var value = Math.Clamp(row[index], Edges[0], Edges[^1]);
            var bin = 0;
            while (bin < live.Length - 1 && value >= Edges[bin + 1])
            {
                bin++;
            }
            live[bin]++;
        }
        double Share(long count, long total) => count == 0 ? 1e-4 : (double)count / total;
        var psi = 0.0;
        for (var i = 0; i < live.Length; i++)
        {
            var e = Share(baseline[i], baseline.Sum());
            var a = Share(live[i], rows.Length);
            psi += (a - e) * Math.Log(a / e);
        }
        return psi;
    }

    public static async Task InsertAsync(
        HyperionAppFixturePostgres db, string model, long version, string requestId, double[][] rows, long[] labels, string? oipId = null, DateTimeOffset? at = null)
    {
        var inputs = new JsonObject
        {
            ["pixels"] = new JsonObject
            {
                ["datatype"] = "FP32",
                ["shape"] = new JsonArray(rows.Length, 64),
                ["data"] = new JsonArray([.. rows.SelectMany(row => row).Select(v => (JsonNode)JsonValue.Create(v))]),
            },
        };
        var outputs = new JsonObject
        {
            ["label"] = new JsonObject
            {
                ["datatype"] = "INT64",
                ["shape"] = new JsonArray(labels.Length),
                ["data"] = new JsonArray([.. labels.Select(l => (JsonNode)JsonValue.Create(l))]),
            },
        };
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            INSERT INTO captures (model, version, arm, request_id, oip_id, captured_at, rows, inputs, outputs)
            VALUES ($1, $2, 'stable', $3, $4, coalesce($5, now()), $6, $7::jsonb, $8::jsonb)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = model });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)oipId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)at?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = labels.Length });
        command.Parameters.Add(new NpgsqlParameter { Value = inputs.ToJsonString() });
        command.Parameters.Add(new NpgsqlParameter { Value = outputs.ToJsonString() });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Inserts <paramref name="rows"/> as captures of five rows each (request ids prefix-0, prefix-1, ...), all predicted class 0.</summary>
    public static async Task InsertBatchesAsync(HyperionAppFixturePostgres db, string model, long version, string prefix, double[][] rows)
    {
        for (var i = 0; i * 5 < rows.Length; i++)
        {
            var chunk = rows.Skip(i * 5).Take(5).ToArray();
            await InsertAsync(db, model, version, string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i}"), chunk, new long[chunk.Length]);
        }
    }
}

/// <summary>The graph's PostgreSQL, as the tests reach it.</summary>
internal sealed record HyperionAppFixturePostgres(string ConnectionString);
