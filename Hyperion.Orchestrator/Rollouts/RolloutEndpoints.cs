using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// <c>POST /api/v1/deployments/{m}/promote|rollback|pause|resume</c> (deploy scope): 200 with the deployment as
/// <c>GET</c> shows it after the change, 404 without a deployment, 409 when there is nothing to do, saying why.
/// </summary>
internal static class RolloutEndpoints
{
    private static readonly (string Verb, string Name, string Summary, Command Run)[] Commands =
    [
        ("promote", "PromoteDeployment", "Make the canary stable now, skipping the rollout's remaining steps", (commands, model, actor, ct) => commands.PromoteAsync(model, actor, ct)),
        ("rollback", "RollbackDeployment", "Roll the rollout in progress back, or else return to the previous stable version (still loaded: instant)",
            (commands, model, actor, ct) => commands.RollbackAsync(model, actor, ct)),
        ("pause", "PauseRollout", "Hold the rollout at its current step (it still rolls back if a gate fails)", (commands, model, actor, ct) => commands.PauseAsync(model, actor, ct)),
        ("resume", "ResumeRollout", "Let a paused rollout move on again (the step's window starts afresh)", (commands, model, actor, ct) => commands.ResumeAsync(model, actor, ct)),
    ];

    private delegate Task<CommandResult> Command(RolloutCommands commands, string model, string actor, CancellationToken cancellationToken);

    public static RouteGroupBuilder MapRolloutEndpoints(this RouteGroupBuilder api)
    {
        var deployments = api.MapGroup("/deployments").RequireAuthorization(ScopePolicies.Deploy).WithTags("Rollouts");
        foreach (var (verb, name, summary, run) in Commands)
        {
            deployments.MapPost($"/{{model}}/{verb}", (string model, ClaimsPrincipal user, RolloutCommands commands, DeploymentStatus status, CancellationToken cancellationToken) =>
                    RespondAsync(model, run(commands, model, ActorClaims.ActorOf(user), cancellationToken), status, cancellationToken))
                .WithName(name)
                .WithSummary(summary);
        }
        return api;
    }

    private static async Task<Results<Ok<DeploymentView>, NotFoundProblem, ConflictProblem>> RespondAsync(string model, Task<CommandResult> command, DeploymentStatus status, CancellationToken cancellationToken)
    {
        var result = await command;
        return result.Status switch
        {
            CommandStatus.NoDeployment => DeploymentEndpoints.NoDeployment(model),
            CommandStatus.Conflict => ApiProblems.Conflict(result.Conflict!),
            _ => await status.ReadAsync(model, cancellationToken) is { } view
                ? TypedResults.Ok(view)
                : ApiProblems.NotFound($"Model '{model}' has no deployment any more (it was deleted meanwhile)."),
        };
    }
}
