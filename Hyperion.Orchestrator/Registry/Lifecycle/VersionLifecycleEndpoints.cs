using System.Security.Claims;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// <c>POST /api/v1/models/{m}/versions/{v}/stage</c> (staging, production, archived, back to none; the approval of a
/// model whose policy requires one) and <c>DELETE /api/v1/models/{m}/versions/{v}</c>.
/// </summary>
internal static class VersionLifecycleEndpoints
{
    public const int MaxReasonLength = 1024;
    private const string StageExample = """{"stage": "production", "reason": "accuracy 0.97 on the holdout set"}""";
    private static readonly string[] StageFields = ["stage", "reason"];

    /// <summary>The stage move, on a group that admits <c>deploy</c> and <c>approve</c> keys (<see cref="StageRules"/> decides which moves each makes).</summary>
    public static RouteGroupBuilder MapVersionStageEndpoint(this RouteGroupBuilder approvals)
    {
        approvals.MapPost("/models/{model}/versions/{version}/stage", SetStageAsync).WithName("SetModelVersionStage").WithJsonBody<StageRequest>()
            .WithSummary("Move a version to a stage: \"staging\", \"production\" (by an approver other than the uploader when the model's policy requires approval), \"archived\" (kept and readable, but no deployment may name it) or back to \"none\"");
        return approvals;
    }

    public static RouteGroupBuilder MapVersionLifecycleEndpoints(this RouteGroupBuilder api)
    {
        api.MapDelete("/models/{model}/versions/{version}", DeleteAsync).WithName("DeleteModelVersion")
            .WithSummary("Delete a version no deployment uses (?reason= is audited); its artifact is swept once no version refers to it");
        return api;
    }

    private static async Task<Results<Ok<VersionResource>, BodyProblem, BadRequestProblem, ForbiddenProblem, NotFoundProblem, ConflictProblem>> SetStageAsync(
        string model, string version, HttpRequest request, ClaimsPrincipal user, VersionLifecycleStore store, TeamStore teams, CancellationToken cancellationToken)
    {
        if (VersionEndpoints.ParseVersion(version) is not { } number)
        {
            return VersionEndpoints.NotAVersion(version);
        }
        var (body, problem) = await JsonBody.ReadObjectAsync(request, StageExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, StageFields, errors);
        VersionStage? stage = null;
        if (!JsonBody.TryGetString(body["stage"], out var stageName) || !StoredNames<VersionStage>.All.Contains(stageName, StringComparer.Ordinal))
        {
            errors["stage"] = [$"must be one of {string.Join(", ", StoredNames<VersionStage>.All.Select(name => $"\"{name}\""))}"];
        }
        else
        {
            stage = StoredNames<VersionStage>.Parse(stageName, "stage");
        }
        var reason = ReadReason(body["reason"], errors);
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The stage change is invalid; expected a body such as {StageExample}.");
        }

        var scopes = ActorClaims.ScopesOf(user).ToList();
        var callerTeam = ActorClaims.TeamOf(user);
        // Which of its rights the key holds on this model: deploy:<model>, approve:<team> and the key's team count.
        var modelTeam = (await teams.OwnershipAsync(model, cancellationToken)).Team;
        var caller = new StageCaller(
            ActorClaims.ActorOf(user),
            Scopes.AllowsDeploy(scopes, callerTeam, model, modelTeam),
            Scopes.AllowsApprove(scopes, callerTeam, modelTeam),
            $"[{string.Join(", ", scopes)}]");
        var result = await store.SetStageAsync(model, number, stage!.Value, reason, caller, cancellationToken);
        return result.Status switch
        {
            LifecycleStatus.Done or LifecycleStatus.Unchanged => TypedResults.Ok(result.Version!),
            LifecycleStatus.NoModel => ModelEndpoints.ModelNotFound(model),
            LifecycleStatus.NoVersion => VersionEndpoints.NoSuchVersion(model, number),
            LifecycleStatus.Forbidden => ApiProblems.Forbidden(result.Refusal!),
            LifecycleStatus.ReasonRequired => ApiProblems.Invalid(new Dictionary<string, string[]> { ["reason"] = [result.Refusal!] }, $"reason {result.Refusal}."),
            LifecycleStatus.NeededInProduction => ApiProblems.Conflict(
                $"version {number} of '{model}' cannot leave production: model '{model}' requires approval, so the stable of its deployment, and a canary that may become "
                + $"stable, must be production versions, and it is used by {string.Join(" and ", result.Uses.Select(use => use.Describe()))}. "
                + $"Point deployment '{model}' at another production version (PUT /api/v1/deployments/{model}) or undeploy it first."),
            _ => InUse(model, number, "archived", result.Uses),
        };
    }

    private static async Task<Results<NoContent, BadRequestProblem, NotFoundProblem, ConflictProblem>> DeleteAsync(
        string model, string version, HttpRequest request, ClaimsPrincipal user, VersionLifecycleStore store, CancellationToken cancellationToken)
    {
        if (VersionEndpoints.ParseVersion(version) is not { } number)
        {
            return VersionEndpoints.NotAVersion(version);
        }
        var reason = request.Query["reason"] is { Count: > 0 } given ? given.ToString() : null;
        if (reason?.Length > MaxReasonLength)
        {
            return ApiProblems.BadRequest($"reason is {reason.Length} characters long; expected at most {MaxReasonLength}");
        }
        var result = await store.DeleteAsync(model, number, reason, ActorClaims.ActorOf(user), cancellationToken);
        return result.Status switch
        {
            LifecycleStatus.Done => TypedResults.NoContent(),
            LifecycleStatus.NoModel => ModelEndpoints.ModelNotFound(model),
            LifecycleStatus.NoVersion => VersionEndpoints.NoSuchVersion(model, number),
            _ => InUse(model, number, "deleted", result.Uses),
        };
    }

    /// <summary>409 naming every use and what frees the version from each.</summary>
    private static ConflictProblem InUse(string model, long version, string change, IReadOnlyList<VersionUse> uses) =>
        ApiProblems.Conflict(
            $"version {version} of '{model}' cannot be {change}: it is used by {string.Join(" and ", uses.Select(use => use.Describe()))}. "
            + string.Join(" ", uses.Select(use => use.Remedy).Distinct(StringComparer.Ordinal)));

    private static string? ReadReason(JsonNode? node, Dictionary<string, string[]> errors)
    {
        if (node is null)
        {
            return null;
        }
        if (!JsonBody.TryGetString(node, out var reason) || reason.Length > MaxReasonLength)
        {
            errors["reason"] = [$"must be a string of at most {MaxReasonLength} characters"];
            return null;
        }
        return reason;
    }

    /// <summary>The body of the stage call, for the OpenAPI document.</summary>
    internal sealed record StageRequest(VersionStage Stage, string? Reason);
}
