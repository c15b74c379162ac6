using System.Globalization;

namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// Usage metering's Redis layout, shared by its writer (the gateways) and its reader (the orchestrator). Gateways add
/// to one open hash, <see cref="OpenHash"/>, whose fields are <c>day|caller|team|model|metric</c>; the orchestrator
/// renames it away whole (a gateway's next add starts a new one) and moves the renamed batch into PostgreSQL once.
/// </summary>
public static class UsageCounters
{
    public const string OpenHash = "hyperion:usage";

    /// <summary>Batches renamed away from <see cref="OpenHash"/> and not yet moved into PostgreSQL (a Redis set of their keys).</summary>
    public const string PendingSet = "hyperion:usage:pending";

    public const string BatchPrefix = "hyperion:usage:batch:";

    /// <summary>The response header by which an inference replica says how many rows (instances) a request carried.</summary>
    public const string RowsHeader = "X-Hyperion-Rows";

    public const string Requests = "requests";
    public const string Rows = "rows";
    public const string ComputeMilliseconds = "compute_ms";

    private const char Separator = '|';

    /// <summary>The day a count belongs to: the UTC date, as <c>yyyy-MM-dd</c>.</summary>
    public static string Day(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <param name="caller"><c>key:&lt;id&gt;</c> or <c>jwt:&lt;subject&gt;</c>.</param>
    /// <param name="team">The caller's team, "" for none.</param>
    public static string Field(string day, string caller, string team, string model, string metric) =>
        string.Join(Separator, day, caller, team, model, metric);

    /// <summary>Reads a field back; false for one this version did not write.</summary>
    public static bool TryParse(string field, out UsageField parsed)
    {
        // Caller (a JWT subject) may hold the separator; the others cannot: take day from the left, the rest from the right.
        parsed = default;
        var first = field.IndexOf(Separator);
        var last = field.LastIndexOf(Separator);
        if (first <= 0 || last <= first)
        {
            return false;
        }
        var metric = field[(last + 1)..];
        var beforeMetric = field[..last];
        var modelStart = beforeMetric.LastIndexOf(Separator);
        var teamStart = modelStart > first ? beforeMetric.LastIndexOf(Separator, modelStart - 1) : -1;
        if (teamStart <= first || metric is not (Requests or Rows or ComputeMilliseconds)
            || !DateOnly.TryParseExact(field[..first], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return false;
        }
        parsed = new UsageField(day, field[(first + 1)..teamStart], field[(teamStart + 1)..modelStart], beforeMetric[(modelStart + 1)..], metric);
        return true;
    }
}

/// <param name="Team">"" for a caller without a team.</param>
public readonly record struct UsageField(DateOnly Day, string Caller, string Team, string Model, string Metric);

/// <summary>A key's or a team's quota: requests per UTC day and per UTC month; null: no limit of that kind.</summary>
public sealed record UsageQuota(long? RequestsPerDay, long? RequestsPerMonth)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => RequestsPerDay is null && RequestsPerMonth is null;
}
