using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Auth;

/// <summary>Who is calling: an API key or a JWT subject, with its scopes and rate-limit plan.</summary>
/// <param name="RateLimitSubject">The bucket's name: <c>key:&lt;id&gt;</c> or <c>jwt:&lt;sub&gt;</c>.</param>
internal sealed record CallerIdentity(string RateLimitSubject, IReadOnlyList<string> Scopes, RateLimitPlan? Plan, ClaimsPrincipal Principal)
{
    /// <summary>The Redis key of the caller's bucket, built once per cached identity.</summary>
    public string RateLimitKey { get; } = RateLimiting.RedisTokenBuckets.SubjectKey(RateLimitSubject);

    /// <summary>This caller's admission, made once per cached identity rather than once per request.</summary>
    public Admission Admission => field ??= new Admission(this);
}
