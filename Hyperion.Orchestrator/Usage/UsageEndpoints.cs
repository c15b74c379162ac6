using System.Globalization;
using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Npgsql;

namespace Hyperion.Orchestrator.Usage;

/// <summary>
/// <c>GET /api/v1/usage</c>: requests, rows and compute seconds by UTC day, caller, team and model, as moved from the
/// gateways' counters (about every <see cref="UsageOptions.FlushSeconds"/>). An admin key sees everything; any other
/// key its own usage, or with <c>?team=</c> its own team's. <c>POST /api/v1/usage/flush</c> (admin) moves the counts now.
/// </summary>
internal static class UsageEndpoints
{
    public const int MaxDays = 366;
    private const int DefaultDays = 31;

    public static RouteGroupBuilder MapUsageEndpoints(this RouteGroupBuilder api)
    {
        var usage = api.MapGroup("/usage").WithTags("Usage");
        usage.MapGet("/", GetAsync).WithName("GetUsage")
            .WithSummary("Usage by UTC day, caller, team and model: ?from=&to= (dates, default the last 31 days), ?key=, ?team=, ?model=; admin sees all, other keys their own or their team's");
        usage.MapPost("/flush", FlushAsync).RequireAuthorization(ScopePolicies.Admin).WithName("FlushUsage")
            .WithSummary("Move the gateways' usage counts into the usage table now (otherwise every Orchestrator:Usage:FlushSeconds)");
        return api;
    }

    private static async Task<Results<Ok<UsageReport>, BadRequestProblem, ForbiddenProblem>> GetAsync(
        HttpRequest request, ClaimsPrincipal user, NpgsqlDataSource dataSource, TimeProvider time, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var to = ReadDate(query["to"], "to", errors) ?? today;
        var from = ReadDate(query["from"], "from", errors) ?? to.AddDays(-(DefaultDays - 1));
        if (errors.Count == 0 && from > to)
        {
            errors["from"] = [$"from {from:yyyy-MM-dd} is after to {to:yyyy-MM-dd}; give from <= to"];
        }
        else if (errors.Count == 0 && to.DayNumber - from.DayNumber >= MaxDays)
        {
            errors["from"] = [$"the range {from:yyyy-MM-dd} to {to:yyyy-MM-dd} is {to.DayNumber - from.DayNumber + 1} days; ask for at most {MaxDays} at a time"];
        }
        Guid? key = null;
        if (query["key"] is { Count: > 0 } keyText)
        {
            if (Guid.TryParse(keyText, out var parsed))
            {
                key = parsed;
            }
            else
            {
                errors["key"] = [$"'{keyText}' is not a key id; key ids are UUIDs such as the \"id\" of GET /api/v1/keys"];
            }
        }
        var team = query["team"] is { Count: > 0 } teamText ? teamText.ToString() : null;
        var model = query["model"] is { Count: > 0 } modelText ? modelText.ToString() : null;
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, string.Join("; ", errors.Values.SelectMany(messages => messages)));
        }

        // Who sees what: an admin everything; a team's key its team's usage (?team=) or its own; any other key its own.
        string? caller = key is { } id ? Caller(id) : null;
        if (!Scopes.AllowsAdmin(ActorClaims.ScopesOf(user)))
        {
            var own = user.FindFirstValue(ClaimTypes.NameIdentifier) is { } ownId && Guid.TryParse(ownId, out var ownKey) ? Caller(ownKey) : null;
            var ownTeam = ActorClaims.TeamOf(user);
            if (team is not null && team != ownTeam)
            {
                return ApiProblems.Forbidden(ownTeam is null
                    ? $"only an admin key sees team '{team}''s usage; this key belongs to no team: leave team out to see its own usage"
                    : $"this key belongs to team '{ownTeam}' and cannot see team '{team}''s usage; ask with ?team={ownTeam}, or leave team out for its own");
            }
            if (caller is not null && caller != own && team is null)
            {
                return ApiProblems.Forbidden($"only an admin key sees another key's usage; leave key out to see this key's own{(ownTeam is null ? "" : $", or ask with ?team={ownTeam}")}");
            }
            if (team is null)
            {
                caller = own ?? "none";
            }
        }

        await using var command = dataSource.CreateCommand("""
            SELECT day, caller, team, model, requests, row_count, compute_ms
            FROM usage_daily
            WHERE day BETWEEN @from AND @to
              AND (@caller::text IS NULL OR caller = @caller)
              AND (@team::text IS NULL OR team = @team)
              AND (@model::text IS NULL OR model = @model)
            ORDER BY day DESC, team, caller, model
            LIMIT 10001
            """);
        command.Bind("from", from);
        command.Bind("to", to);
        command.Bind("caller", caller);
        command.Bind("team", team);
        command.Bind("model", model);
        var rows = await command.ReadAllAsync(reader => new UsageRow(
            Day: reader.GetFieldValue<DateOnly>(0).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            KeyId: KeyIdOf(reader.GetString(1)),
            Caller: reader.GetString(1),
            Team: reader.GetString(2) is { Length: > 0 } named ? named : null,
            Model: reader.GetString(3),
            Requests: reader.GetInt64(4),
            Rows: reader.GetInt64(5),
            ComputeSeconds: reader.GetInt64(6) / 1000.0), cancellationToken);
        var truncated = rows.Count > 10_000;
        if (truncated)
        {
            rows.RemoveAt(rows.Count - 1);
        }
        var totals = new UsageTotals(rows.Sum(row => row.Requests), rows.Sum(row => row.Rows), Math.Round(rows.Sum(row => row.ComputeSeconds), 3));
        return TypedResults.Ok(new UsageReport(from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), totals, rows, truncated));
    }

    private static async Task<Ok<FlushResult>> FlushAsync(UsageFlusher flusher, CancellationToken cancellationToken) =>
        TypedResults.Ok(new FlushResult(await flusher.FlushAsync(cancellationToken)));

    public static string Caller(Guid keyId) => "key:" + keyId.ToString("N");

    private static string? KeyIdOf(string caller) =>
        caller.StartsWith("key:", StringComparison.Ordinal) && Guid.TryParseExact(caller.AsSpan(4), "N", out var id) ? id.ToString() : null;

    private static DateOnly? ReadDate(Microsoft.Extensions.Primitives.StringValues value, string name, Dictionary<string, string[]> errors)
    {
        if (value.Count == 0)
        {
            return null;
        }
        if (DateOnly.TryParseExact(value.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }
        errors[name] = [$"{name} must be a UTC date such as 2026-12-01, got '{value}'"];
        return null;
    }
}

/// <param name="Truncated">More than 10,000 rows matched; narrow the range or filter by key, team or model.</param>
internal sealed record UsageReport(string From, string To, UsageTotals Totals, IReadOnlyList<UsageRow> Usage, bool Truncated);

internal sealed record UsageTotals(long Requests, long Rows, double ComputeSeconds);

/// <param name="KeyId">The key's id when the caller is an API key; null for a JWT subject.</param>
/// <param name="Team">The caller's team when the requests were made; null: none.</param>
internal sealed record UsageRow(
    string Day,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? KeyId,
    string Caller,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Team,
    string Model,
    long Requests,
    long Rows,
    double ComputeSeconds);

internal sealed record FlushResult(int Batches);
