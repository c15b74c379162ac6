using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>
/// <c>POST /api/v1/deployments/{m}/promote|rollback|pause|resume</c> (deploy scope): 200 with the deployment as
/// <c>GET</c> shows it after the change, 404 without a deployment, 409 when there is nothing to do, saying why.
/// </summary>
internal static class RolloutEndpoints
{
    public static RouteGroupBuilder MapRolloutEndpoints(this RouteGroupBuilder api)
    {
        var deployments = api.MapGroup("/deployments").RequireAuthorization(ScopePolicies.Deploy).WithTags("Rollouts");
        deployments.MapPost("/{model}/promote", (string model, ClaimsPrincipal user, RolloutCommands commands, DeploymentStatus status, CancellationToken cancellationToken) =>
                RespondAsync(model, commands.PromoteAsync(model, ActorClaims.ActorOf(user), cancellationToken), status, cancellationToken))
            .WithName("PromoteDeployment")
            .WithSummary("Make the canary stable now, skipping the rollout's remaining steps");
        deployments.MapPost("/{model}/rollback", (string model, ClaimsPrincipal user, RolloutCommands commands, DeploymentStatus status, CancellationToken cancellationToken) =>
                RespondAsync(model, commands.RollbackAsync(model, ActorClaims.ActorOf(user), cancellationToken), status, cancellationToken))
            .WithName("RollbackDeployment")
            .WithSummary("Roll the rollout in progress back, or else return to the previous stable version (still loaded: instant)");
        deployments.MapPost("/{model}/pause", (string model, ClaimsPrincipal user, RolloutCommands commands, DeploymentStatus status, CancellationToken cancellationToken) =>
                RespondAsync(model, commands.PauseAsync(model, ActorClaims.ActorOf(user), cancellationToken), status, cancellationToken))
            .WithName("PauseRollout")
            .WithSummary("Hold the rollout at its current step (it still rolls back if a gate fails)");
        deployments.MapPost("/{model}/resume", (string model, ClaimsPrincipal user, RolloutCommands commands, DeploymentStatus status, CancellationToken cancellationToken) =>
                RespondAsync(model, commands.ResumeAsync(model, ActorClaims.ActorOf(user), cancellationToken), status, cancellationToken))
            .WithName("ResumeRollout")
            .WithSummary("Let a paused rollout move on again (the step's window starts afresh)");
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
