using System.Text.Json.Serialization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// The body of <c>POST /api/v1/keys</c>. Unknown fields are refused: a misspelt <c>expires_at</c> silently ignored
/// would issue a key that never expires.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record CreateKeyRequest(
    string? Name,
    IReadOnlyList<string?>? Scopes,
    DateTimeOffset? ExpiresAt,
    RateLimitPlan? RateLimit,
    string? Team = null)
{
    public const int MaxNameLength = 100;

    public const string Expected =
        """{"name": "ci", "scopes": ["infer"], "expires_at": null or an ISO 8601 time such as "2030-01-01T00:00:00Z", "rate_limit": {"requests_per_second": 50, "burst": 100} (optional), "team": "vision" (optional: the key then acts only on that team's models)}""";

    /// <summary>The teams the key names (its own, and those of <c>approve:&lt;team&gt;</c> scopes), which must exist.</summary>
    public IReadOnlyCollection<string> NamedTeams()
    {
        var teams = new SortedSet<string>(StringComparer.Ordinal);
        if (Team is not null)
        {
            teams.Add(Team);
        }
        foreach (var scope in Scopes ?? [])
        {
            if (scope is not null && Contracts.ControlPlane.Scopes.ApprovedTeam(scope) is { } approved)
            {
                teams.Add(approved);
            }
        }
        return teams;
    }

    /// <summary>Field → what is wrong with it and what is expected; empty when the request is valid.</summary>
    public Dictionary<string, string[]> Validate(DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(Name))
        {
            errors["name"] = ["name is required: a non-empty label such as \"ci\" that tells keys apart"];
        }
        else if (Name.Length > MaxNameLength)
        {
            errors["name"] = [$"name has {Name.Length} characters; at most {MaxNameLength} are allowed"];
        }
        else if (Name.Any(char.IsControl))
        {
            errors["name"] = ["name contains control characters; use printable text"];
        }

        var scopeErrors = ValidateScopes(Scopes);
        if (scopeErrors.Count > 0)
        {
            errors["scopes"] = [.. scopeErrors];
        }

        if (Team is not null && !ResourceName.IsValid(Team))
        {
            errors["team"] = [$"team '{Team}' is not a team name ({ResourceName.Rule}); give an existing team's name, or leave team out"];
        }
        else if (Team is not null && Scopes?.Contains(Contracts.ControlPlane.Scopes.Admin) == true)
        {
            errors["team"] = [$"a key of team '{Team}' cannot hold 'admin', which acts on every model whatever its team; give it 'deploy', 'approve' or 'infer', or leave team out"];
        }

        if (ExpiresAt is { } expires && expires <= now)
        {
            errors["expires_at"] = [$"expires_at {Utc(expires)} is not in the future (now is {Utc(now)}); give a later time, or null for a key that does not expire"];
        }

        if (RateLimit is { } plan)
        {
            var planErrors = new List<string>(2);
            if (!(plan.RequestsPerSecond > 0) || double.IsInfinity(plan.RequestsPerSecond))
            {
                planErrors.Add($"rate_limit.requests_per_second must be a positive number, got {plan.RequestsPerSecond}");
            }
            if (plan.Burst < 1)
            {
                planErrors.Add($"rate_limit.burst must be a positive integer, got {plan.Burst}");
            }
            if (planErrors.Count > 0)
            {
                errors["rate_limit"] = [.. planErrors];
            }
        }
        return errors;
    }

    private static string Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static List<string> ValidateScopes(IReadOnlyList<string?>? scopes)
    {
        const string known = Contracts.ControlPlane.Scopes.Expected;
        var errors = new List<string>();
        if (scopes is null || scopes.Count == 0)
        {
            errors.Add($"scopes is required: a non-empty list of scopes ({known}), e.g. [\"infer\"]");
            return errors;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            if (scope is null || !Contracts.ControlPlane.Scopes.IsValid(scope))
            {
                errors.Add($"unknown scope {(scope is null ? "null" : $"'{scope}'")}; scopes are {known}");
            }
            else if (!seen.Add(scope))
            {
                errors.Add($"scope '{scope}' is listed twice; list each scope once");
            }
        }
        return errors;
    }
}
