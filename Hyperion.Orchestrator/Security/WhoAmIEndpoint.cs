using System.Security.Claims;

namespace Hyperion.Orchestrator.Security;

/// <summary><c>GET /api/v1/whoami</c>: which credential the call carried, its scopes and team, to check a key before using it.</summary>
internal static class WhoAmIEndpoint
{
    public static RouteGroupBuilder MapWhoAmI(this RouteGroupBuilder api)
    {
        api.MapGet("/whoami", Ok<WhoAmI> (ClaimsPrincipal user) => TypedResults.Ok(new WhoAmI(
                user.FindFirstValue(ClaimTypes.NameIdentifier),
                user.Identity?.Name,
                ActorClaims.ActorOf(user),
                [.. ActorClaims.ScopesOf(user)],
                ActorClaims.TeamOf(user))))
            .WithName("WhoAmI")
            .WithSummary("The caller's identity and scopes");
        return api;
    }

    /// <param name="Team">The key's team; absent for a key without one.</param>
    private sealed record WhoAmI(string? KeyId, string? Name, string Actor, string[] Scopes, string? Team);
}
