using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Security;

/// <summary>Who did it, as the audit log records it.</summary>
internal static class ActorClaims
{
    public const string Actor = "hyperion_actor";

    /// <summary>Actor of changes the control plane makes by itself (bootstrap, rollout controller).</summary>
    public static string System(string component) => $"system:{component}";

    public static string ActorOf(ClaimsPrincipal user) =>
        user.FindFirstValue(Actor) ?? (user.Identity?.Name is { } name ? $"token:{name}" : "anonymous");

    /// <summary>The caller's team (a team's key); null for keys and tokens without one.</summary>
    public static string? TeamOf(ClaimsPrincipal user) => user.FindFirstValue(Scopes.TeamClaimType);

    public static IEnumerable<string> ScopesOf(ClaimsPrincipal user)
    {
        foreach (var claim in user.FindAll(Scopes.ClaimType))
        {
            // JWTs commonly carry "scope": "a b c".
            foreach (var scope in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return scope;
            }
        }
    }
}
