using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Teams;
using Microsoft.AspNetCore.Authorization;

namespace Hyperion.Orchestrator.Security;

/// <summary>What a call needs of a caller, judged on the model its route names (<c>{model}</c>) when it names one.</summary>
internal enum ScopeNeed
{
    Deploy,
    Approve,
    DeployOrApprove,
}

internal sealed record ModelScopeRequirement(ScopeNeed Need) : IAuthorizationRequirement;

/// <summary>Why the caller was refused, for the 403 that <see cref="ApiKeyAuthenticationHandler"/> writes.</summary>
internal sealed record ScopeRefusal(string Message);

/// <summary>
/// Decides <see cref="ModelScopeRequirement"/>: on a route about one model, the caller's scopes and team against that
/// model and its team (<see cref="Scopes.AllowsDeploy(IEnumerable{string}, string?, string, string?)"/>,
/// <see cref="Scopes.AllowsApprove(IEnumerable{string}, string?, string?)"/>); elsewhere the plain <c>deploy</c> or
/// <c>approve</c> (so <c>deploy:&lt;model&gt;</c> reaches nothing but its model). The model's team is read only when
/// it can change the answer: a key without a team that holds <c>deploy</c> or <c>admin</c> passes as it always did.
/// </summary>
internal sealed class ModelScopeHandler(TeamStore teams) : AuthorizationHandler<ModelScopeRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, ModelScopeRequirement requirement)
    {
        var scopes = ActorClaims.ScopesOf(context.User).ToList();
        var callerTeam = ActorClaims.TeamOf(context.User);
        var http = context.Resource as HttpContext;
        if (http?.GetRouteValue("model") is not string model)
        {
            if (requirement.Need switch
                {
                    ScopeNeed.Deploy => Scopes.AllowsDeploy(scopes),
                    ScopeNeed.Approve => Scopes.AllowsApprove(scopes),
                    _ => Scopes.AllowsDeploy(scopes) || Scopes.AllowsApprove(scopes),
                })
            {
                context.Succeed(requirement);
            }
            return;
        }

        if (callerTeam is null && Unrestricted(requirement.Need, scopes))
        {
            context.Succeed(requirement);
            return;
        }
        var owner = await teams.OwnershipAsync(model, http.RequestAborted);
        if (!owner.Exists)
        {
            // The handler answers 404 to a caller that could act on some model: a team's key learns no more than
            // that the name is free. A caller holding no scope of the kind (an infer-only key) is refused, as before teams.
            if (HoldsAny(requirement.Need, scopes))
            {
                context.Succeed(requirement);
            }
            else
            {
                http.Features.Set(new ScopeRefusal($"this call needs the scope {Describe(requirement.Need, model, team: null)}; the key has [{string.Join(", ", scopes)}]"));
            }
            return;
        }
        var deploy = Scopes.AllowsDeploy(scopes, callerTeam, model, owner.Team);
        var approve = Scopes.AllowsApprove(scopes, callerTeam, owner.Team);
        if (requirement.Need switch { ScopeNeed.Deploy => deploy, ScopeNeed.Approve => approve, _ => deploy || approve })
        {
            context.Succeed(requirement);
            return;
        }
        var message = Scopes.TeamRefusal(callerTeam, model, owner.Team) is { } teamRefusal
            ? $"{teamRefusal}; the key has [{string.Join(", ", scopes)}]"
            : $"this call on model '{model}' needs the scope {Describe(requirement.Need, model, owner.Team)}; the key has [{string.Join(", ", scopes)}]";
        http.Features.Set(new ScopeRefusal(message));
    }

    /// <summary>The scopes that admit the need on <paramref name="model"/>, for a 403's message.</summary>
    public static string Describe(ScopeNeed need, string model, string? team)
    {
        var deploy = $"'deploy:{model}', 'deploy'";
        var approve = team is null ? "'approve'" : $"'approve:{team}', 'approve'";
        return need switch
        {
            ScopeNeed.Deploy => deploy + " or 'admin'",
            ScopeNeed.Approve => approve + " or 'admin'",
            _ => $"{deploy}, {approve} or 'admin'",
        };
    }

    /// <summary>Whether the caller holds the need's scope in any form (plain, or for some model or team).</summary>
    private static bool HoldsAny(ScopeNeed need, List<string> scopes)
    {
        var deploy = Unrestricted(ScopeNeed.Deploy, scopes) || scopes.Exists(scope => scope.StartsWith(Scopes.DeployModelPrefix, StringComparison.Ordinal));
        var approve = Unrestricted(ScopeNeed.Approve, scopes) || scopes.Exists(scope => scope.StartsWith(Scopes.ApproveTeamPrefix, StringComparison.Ordinal));
        return need switch { ScopeNeed.Deploy => deploy, ScopeNeed.Approve => approve, _ => deploy || approve };
    }

    // Scopes that pass on any model whatever its team, for a caller without a team.
    private static bool Unrestricted(ScopeNeed need, List<string> scopes) => need switch
    {
        ScopeNeed.Deploy => Scopes.AllowsDeploy(scopes),
        ScopeNeed.Approve => Scopes.AllowsApprove(scopes),
        _ => Scopes.AllowsDeploy(scopes) || Scopes.AllowsApprove(scopes),
    };
}
