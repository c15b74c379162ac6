using Hyperion.Contracts.ControlPlane;
using Microsoft.AspNetCore.Authorization;

namespace Hyperion.Orchestrator.Security;

/// <summary>
/// Authorization policies by scope (<see cref="Scopes"/>): <c>admin</c> implies <c>deploy</c> and <c>approve</c>. The
/// deploy and approve policies judge a route that names a model against that model (<see cref="ModelScopeHandler"/>):
/// <c>deploy:&lt;model&gt;</c>, <c>approve:&lt;team&gt;</c> and a key's team count there.
/// </summary>
internal static class ScopePolicies
{
    public const string Admin = "scope:admin";
    public const string Deploy = "scope:deploy";
    public const string Approve = "scope:approve";

    /// <summary>Calls that a deploy key and an approver both make (a stage move); the handler decides which moves each may make.</summary>
    public const string DeployOrApprove = "scope:deploy-or-approve";

    /// <summary>The scopes a policy admits, for a 403's message.</summary>
    public static string Describe(string? policy) => policy switch
    {
        Admin => "'admin'",
        Deploy => "'deploy' or 'admin'",
        Approve => "'approve' or 'admin'",
        DeployOrApprove => "'deploy', 'approve' or 'admin'",
        _ => "this call requires",
    };

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Admin, policy => policy
            .RequireAuthenticatedUser()
            .RequireAssertion(context => Scopes.AllowsAdmin(ActorClaims.ScopesOf(context.User))));
        options.AddPolicy(Deploy, policy => policy
            .RequireAuthenticatedUser()
            .AddRequirements(new ModelScopeRequirement(ScopeNeed.Deploy)));
        options.AddPolicy(Approve, policy => policy
            .RequireAuthenticatedUser()
            .AddRequirements(new ModelScopeRequirement(ScopeNeed.Approve)));
        options.AddPolicy(DeployOrApprove, policy => policy
            .RequireAuthenticatedUser()
            .AddRequirements(new ModelScopeRequirement(ScopeNeed.DeployOrApprove)));
    }
}
