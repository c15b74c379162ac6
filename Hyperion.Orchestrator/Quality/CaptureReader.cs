using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// Reads captured tensors of one version for drift and quality (only the named tensor leaves PostgreSQL, not the
/// whole capture). At most <see cref="MaxCaptures"/> captures, the newest, count for one computation: enough for
/// every statistic here to settle, and a bound on what one computation reads.
/// </summary>
internal static class CaptureReader
{
    public const int MaxCaptures = 20_000;

    /// <summary>The tensor <paramref name="name"/> of the inputs (or outputs) captured in [start, end), newest first.</summary>
    public static async Task<List<CapturedTensor>> TensorsAsync(
        Db db, string model, long version, TensorSide side, string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        await using var command = db.Command($"""
            SELECT ({Column(side)} -> @name)::text FROM captures
            WHERE model = @model AND version = @version AND captured_at >= @start AND captured_at < @end
            ORDER BY captured_at DESC
            LIMIT {MaxCaptures}
            """);
        command.Bind("model", model);
        command.Bind("version", version);
        command.Bind("name", name);
        command.Bind("start", start.ToUniversalTime());
        command.Bind("end", end.ToUniversalTime());
        return Parsed(await command.ReadAllAsync(reader => reader.IsDBNull(0) ? null : reader.GetString(0), cancellationToken));
    }

    /// <summary>
    /// The reference window of prediction drift: the version's earliest captures, from its first capture for
    /// <paramref name="window"/>, but never past <paramref name="before"/> (the current window's start), so that the
    /// reference and the window compared with it never share a capture. Returns the window's bounds too (null: no capture before).
    /// </summary>
    public static async Task<(List<CapturedTensor> Tensors, DateTimeOffset? Start, DateTimeOffset? End)> EarliestOutputsAsync(
        Db db, string model, long version, string output, TimeSpan window, DateTimeOffset before, CancellationToken cancellationToken)
    {
        DateTimeOffset? first;
        await using (var command = db.Command("SELECT min(captured_at) FROM captures WHERE model = @model AND version = @version AND captured_at < @before"))
        {
            command.Bind("model", model);
            command.Bind("version", version);
            command.Bind("before", before.ToUniversalTime());
            first = await command.ExecuteScalarAsync(cancellationToken) is DateTime at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
        }
        if (first is not { } start)
        {
            return ([], null, null);
        }
        var end = start + window < before ? start + window : before;
        return (await TensorsAsync(db, model, version, TensorSide.Outputs, output, start, end, cancellationToken), start, end);
    }

    private static List<CapturedTensor> Parsed(List<string?> json)
    {
        var tensors = new List<CapturedTensor>(json.Count);
        foreach (var text in json)
        {
            if (CapturedTensor.Parse(text) is { } tensor)
            {
                tensors.Add(tensor);
            }
        }
        return tensors;
    }

    private static string Column(TensorSide side) => side == TensorSide.Inputs ? "inputs" : "outputs";
}

internal enum TensorSide
{
    Inputs,
    Outputs,
}
