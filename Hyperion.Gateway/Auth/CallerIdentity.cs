using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Auth;

/// <summary>Who is calling: an API key or a JWT subject, with its scopes, team and rate-limit plan.</summary>
/// <param name="RateLimitSubject">The bucket's name: <c>key:&lt;id&gt;</c> or <c>jwt:&lt;sub&gt;</c>.</param>
/// <param name="Team">The key's team (it may then call only that team's models); null: no team.</param>
/// <param name="Quota">The key's own quota; null: none.</param>
/// <param name="TeamQuota">The quota its team shares; null: none.</param>
internal sealed record CallerIdentity(
    string RateLimitSubject,
    IReadOnlyList<string> Scopes,
    RateLimitPlan? Plan,
    ClaimsPrincipal Principal,
    string? Team = null,
    UsageQuota? Quota = null,
    UsageQuota? TeamQuota = null)
{
    /// <summary>The team as metrics label it: bounded, since teams are few and made by admins.</summary>
    public string TeamLabel { get; } = Team ?? "none";

    /// <summary>Whether a request must ask Redis about quotas at all.</summary>
    public bool HasQuota => Quota is not null || TeamQuota is not null;

    /// <summary>The Redis key of the caller's bucket, built once per cached identity.</summary>
    public string RateLimitKey { get; } = RateLimiting.RedisTokenBuckets.SubjectKey(RateLimitSubject);

    /// <summary>This caller's admission, made once per cached identity rather than once per request.</summary>
    public Admission Admission => field ??= new Admission(this);
}
