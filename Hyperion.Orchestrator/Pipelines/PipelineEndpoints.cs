using System.Globalization;
using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// <c>/api/v1/pipelines</c>: create or change (PUT, a new revision; an identical body changes nothing), read (the
/// current revision, or <c>?revision=n</c>), list, history, delete. Guarded as deployments are: <c>deploy</c> (or
/// <c>admin</c>) for every call, and a team's key over its team's models only. The gateway runs pipelines; it hears of
/// a change through the routing notice.
/// </summary>
internal static partial class PipelineEndpoints
{
    public static RouteGroupBuilder MapPipelineEndpoints(this RouteGroupBuilder api)
    {
        var pipelines = api.MapGroup("/pipelines").RequireAuthorization(ScopePolicies.Deploy).WithTags("Pipelines");
        pipelines.MapGet("/", ListAsync).WithName("ListPipelines").WithSummary("Every pipeline at its current revision");
        pipelines.MapGet("/{pipeline}", GetAsync).WithName("GetPipeline").WithSummary("A pipeline at its current revision, or at ?revision=n");
        pipelines.MapPut("/{pipeline}", PutAsync).WithName("PutPipeline")
            .WithSummary("Create (201) or change (200) a pipeline: a new revision, checked against the registry; an identical body changes nothing")
            .WithJsonBody<PipelineRequest>();
        pipelines.MapDelete("/{pipeline}", DeleteAsync).WithName("DeletePipeline").WithSummary("Delete a pipeline; its revisions stay in the history");
        pipelines.MapGet("/{pipeline}/revisions", RevisionsAsync).WithName("ListPipelineRevisions").WithSummary("Every revision of a pipeline, newest first");
        return api;
    }

    private static async Task<Ok<PipelineList>> ListAsync(PipelineStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new PipelineList([.. (await store.ListAsync(cancellationToken)).Select(record => PipelineView.From(record))]));

    private static async Task<Results<Ok<PipelineView>, BadRequestProblem, NotFoundProblem>> GetAsync(
        string pipeline, HttpRequest request, PipelineStore store, CancellationToken cancellationToken)
    {
        long? revision = null;
        if (request.Query.TryGetValue("revision", out var text))
        {
            if (text.Count != 1 || !long.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
            {
                return ApiProblems.BadRequest($"revision must be a revision number (1 or more), got '{text}'; leave it out for the current revision.");
            }
            revision = number;
        }
        if (await store.GetAsync(pipeline, revision, cancellationToken) is { } record)
        {
            return TypedResults.Ok(PipelineView.From(record));
        }
        if (revision is null || await store.GetAsync(pipeline, null, cancellationToken) is not { } current)
        {
            return NoPipeline(pipeline);
        }
        return ApiProblems.NotFound($"Pipeline '{pipeline}' has no revision {revision}; its revisions are 1 to {current.Revision}.");
    }

    private static async Task<Results<Created<PipelineView>, Ok<PipelineView>, BodyProblem, BadRequestProblem, ForbiddenProblem>> PutAsync(
        string pipeline,
        HttpRequest request,
        ClaimsPrincipal user,
        PipelineStore store,
        TeamStore teams,
        ControlPlaneNotifier notifier,
        ILogger<PipelineStore> logger,
        CancellationToken cancellationToken)
    {
        if (!PipelineValidator.IsPipelineName(pipeline))
        {
            return ApiProblems.BadRequest($"'{pipeline}' is not a pipeline name: use 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit.");
        }
        var (body, problem) = await JsonBody.ReadAsync<PipelineRequest>(request, PipelineRequest.Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        if (await TeamRefusalAsync(body!, user, teams, cancellationToken) is { } refusal)
        {
            return ApiProblems.Forbidden(refusal);
        }
        var result = await store.PutAsync(pipeline, body!, ActorClaims.ActorOf(user), cancellationToken);
        if (result.Status == PipelinePutStatus.Invalid)
        {
            return ApiProblems.Invalid(result.Errors!, PipelineValidator.Describe(result.Errors!));
        }
        var view = PipelineView.From(result.Pipeline!, changed: result.Status != PipelinePutStatus.Unchanged);
        if (result.Status == PipelinePutStatus.Unchanged)
        {
            return TypedResults.Ok(view);
        }
        LogPipelineChanged(logger, pipeline, view.Revision, result.Status == PipelinePutStatus.Created ? "created" : "updated");
        await notifier.PublishAsync(ControlPlaneChannels.RoutingChanged, Notice(pipeline));
        return result.Status == PipelinePutStatus.Created
            ? TypedResults.Created($"/api/v1/pipelines/{Uri.EscapeDataString(pipeline)}", view)
            : TypedResults.Ok(view);
    }

    /// <summary>
    /// A team's key defines pipelines over its team's models only: a pipeline sends traffic to every model it names.
    /// Unknown models are left to the validator's 400.
    /// </summary>
    private static async Task<string?> TeamRefusalAsync(PipelineRequest body, ClaimsPrincipal user, TeamStore teams, CancellationToken cancellationToken)
    {
        if (ActorClaims.TeamOf(user) is not { } callerTeam)
        {
            return null;
        }
        foreach (var model in (body.Steps ?? []).Select(step => step?.Model).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            var owner = await teams.OwnershipAsync(model, cancellationToken);
            if (owner.Exists && Scopes.TeamRefusal(callerTeam, model, owner.Team) is { } refusal)
            {
                return $"{refusal}, and a pipeline calls every model it names";
            }
        }
        return null;
    }

    private static async Task<Results<NoContent, NotFoundProblem>> DeleteAsync(
        string pipeline, ClaimsPrincipal user, PipelineStore store, ControlPlaneNotifier notifier, ILogger<PipelineStore> logger, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(pipeline, ActorClaims.ActorOf(user), cancellationToken))
        {
            return NoPipeline(pipeline);
        }
        LogPipelineChanged(logger, pipeline, 0, "deleted");
        await notifier.PublishAsync(ControlPlaneChannels.RoutingChanged, Notice(pipeline));
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<PipelineRevisions>, NotFoundProblem>> RevisionsAsync(string pipeline, PipelineStore store, CancellationToken cancellationToken) =>
        await store.RevisionsAsync(pipeline, cancellationToken) is { } revisions
            ? TypedResults.Ok(new PipelineRevisions(pipeline, [.. revisions.Select(record => PipelineView.From(record))]))
            : NoPipeline(pipeline);

    private static NotFoundProblem NoPipeline(string pipeline) =>
        ApiProblems.NotFound($"Pipeline '{pipeline}' does not exist; create it with PUT /api/v1/pipelines/{pipeline} and a body such as {PipelineRequest.Example}.");

    private static string Notice(string pipeline) => $"pipeline:{pipeline}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline} {Change} (revision {Revision})")]
    private static partial void LogPipelineChanged(ILogger logger, string pipeline, long revision, string change);
}
