using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Rollouts;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Deployments;

/// <summary><c>/api/v1/deployments</c>: create or change (PUT), read, list, history, undeploy.</summary>
internal static partial class DeploymentEndpoints
{
    public static RouteGroupBuilder MapDeploymentEndpoints(this RouteGroupBuilder api)
    {
        var deployments = api.MapGroup("/deployments").RequireAuthorization(ScopePolicies.Deploy).WithTags("Deployments");
        deployments.MapGet("/", ListAsync).WithName("ListDeployments").WithSummary("Every deployment with its status")
            .Produces<DeploymentList>();
        deployments.MapGet("/{model}", GetAsync).WithName("GetDeployment").WithSummary("A deployment: its spec, what serves, readiness per version and replica")
            .Produces<DeploymentView>().ProducesProblem(StatusCodes.Status404NotFound);
        // The handler reads the body itself (to explain bad input); Accepts(...) would refuse other media types with a bare 415.
        deployments.MapPut("/{model}", PutAsync).WithName("PutDeployment")
            .WithSummary("Create or change a deployment (a new revision; an identical spec changes nothing)")
            .WithJsonBody<DeploymentRequest>()
            .Produces<DeploymentView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        deployments.MapDelete("/{model}", DeleteAsync).WithName("DeleteDeployment").WithSummary("Undeploy: replicas unload the model; revisions stay")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        deployments.MapGet("/{model}/revisions", RevisionsAsync).WithName("ListDeploymentRevisions").WithSummary("Every revision of a deployment, newest first")
            .Produces<RevisionsView>().ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<IResult> ListAsync(SnapshotReader snapshots, RolloutStatusReader rollouts, CancellationToken cancellationToken)
    {
        var plan = new ConvergencePlan(await snapshots.ReadAsync(model: null, cancellationToken));
        var views = new List<DeploymentView>(plan.Snapshot.Deployments.Count);
        foreach (var deployment in plan.Snapshot.Deployments)
        {
            views.Add(await rollouts.DescribeAsync(deployment, DeploymentView.From(deployment, plan), cancellationToken));
        }
        return Results.Ok(new DeploymentList(views));
    }

    private static async Task<IResult> GetAsync(string model, DeploymentStatus status, CancellationToken cancellationToken) =>
        await status.ReadAsync(model, cancellationToken) is { } view ? Results.Ok(view) : NoDeployment(model);

    private static async Task<IResult> PutAsync(
        string model,
        HttpRequest request,
        ClaimsPrincipal user,
        DeploymentStore store,
        SnapshotReader snapshots,
        ConvergenceEvaluator evaluator,
        ControlPlaneNotifier notifier,
        RolloutStatusReader rollouts,
        ILogger<DeploymentStore> logger,
        CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return ApiProblems.UnsupportedMediaType(
                $"A deployment spec is JSON: send Content-Type: application/json (got '{request.ContentType ?? "none"}').");
        }
        DeploymentRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<DeploymentRequest>(request.Body, DeploymentRequest.JsonOptions, cancellationToken);
        }
        catch (JsonException ex)
        {
            return ApiProblems.BadRequest(SpecJsonErrors.Describe(ex));
        }
        if (body is null)
        {
            return ApiProblems.BadRequest("The body is null; expected a JSON object such as {\"stable\": 1}.");
        }
        if (DeploymentSpecValidator.Validate(body, out var errors) is not { } spec)
        {
            return ApiProblems.Invalid(errors, DeploymentSpecValidator.Describe(errors));
        }

        var result = await store.PutAsync(model, spec, ActorClaims.ActorOf(user), cancellationToken);
        switch (result.Status)
        {
            case PutStatus.ModelNotFound:
                return ApiProblems.NotFound($"Model '{model}' is not registered; register it with POST /api/v1/models and upload a version first.");
            case PutStatus.MissingVersions:
                return ApiProblems.Unprocessable(MissingVersions(model, result));
            case PutStatus.OverridesDoNotFit:
                return ApiProblems.Unprocessable($"The deployment's overrides do not fit model '{model}': {string.Join("; ", result.Problems!)}.");
            case PutStatus.Created or PutStatus.Updated:
                LogDeploymentChanged(logger, model, result.Revision, result.Status == PutStatus.Created ? "created" : "updated");
                await notifier.PublishAsync(ControlPlaneChannels.DesiredChanged, model);
                // Routing may change at once (a switch back to a version that already serves everywhere, a new cache policy).
                await evaluator.EvaluateAsync([model], cancellationToken);
                break;
        }

        var plan = new ConvergencePlan(await snapshots.ReadAsync(model, cancellationToken));
        var deployment = plan.Snapshot.Deployments.Single();
        var view = await rollouts.DescribeAsync(deployment, DeploymentView.From(deployment, plan), cancellationToken);
        return Results.Ok(view with { Changed = result.Status != PutStatus.Unchanged });
    }

    private static async Task<IResult> DeleteAsync(
        string model,
        ClaimsPrincipal user,
        DeploymentStore store,
        ConvergenceEvaluator evaluator,
        ControlPlaneNotifier notifier,
        ILogger<DeploymentStore> logger,
        CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(model, ActorClaims.ActorOf(user), cancellationToken))
        {
            return NoDeployment(model);
        }
        LogDeploymentChanged(logger, model, 0, "deleted");
        await notifier.PublishAsync(ControlPlaneChannels.DesiredChanged, model);
        await evaluator.EvaluateAsync([model], cancellationToken);
        return Results.NoContent();
    }

    private static async Task<IResult> RevisionsAsync(string model, DeploymentStore store, CancellationToken cancellationToken) =>
        await store.RevisionsAsync(model, cancellationToken) is { } revisions
            ? Results.Ok(new RevisionsView(model, revisions))
            : NoDeployment(model);

    private static IResult NoDeployment(string model) =>
        ApiProblems.NotFound($"Model '{model}' has no deployment; create one with PUT /api/v1/deployments/{model} and a body such as {{\"stable\": 1}}.");

    private static string MissingVersions(string model, PutResult result)
    {
        var missing = string.Join(", ", result.Missing.Select(version => version.ToString(CultureInfo.InvariantCulture)));
        var existing = result.Existing.Count == 0
            ? $"it has no versions yet; upload one with POST /api/v1/models/{model}/versions"
            : "its versions are " + string.Join(", ", result.Existing.Select(version => version.ToString(CultureInfo.InvariantCulture)));
        return result.Missing.Count == 1
            ? $"Model '{model}' has no version {missing}; {existing}."
            : $"Model '{model}' has no versions {missing}; {existing}.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Model} {Change} (revision {Revision})")]
    private static partial void LogDeploymentChanged(ILogger logger, string model, long revision, string change);
}
