using System.Globalization;
using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Rollouts;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Deployments;

/// <summary><c>/api/v1/deployments</c>: create or change (PUT), read, list, history, undeploy.</summary>
internal static partial class DeploymentEndpoints
{
    public static RouteGroupBuilder MapDeploymentEndpoints(this RouteGroupBuilder api)
    {
        var deployments = api.MapGroup("/deployments").RequireAuthorization(ScopePolicies.Deploy).WithTags("Deployments");
        deployments.MapGet("/", ListAsync).WithName("ListDeployments").WithSummary("Every deployment with its status");
        deployments.MapGet("/{model}", GetAsync).WithName("GetDeployment").WithSummary("A deployment: its spec, what serves, readiness per version and replica");
        deployments.MapPut("/{model}", PutAsync).WithName("PutDeployment")
            .WithSummary("Create or change a deployment (a new revision; an identical spec changes nothing)")
            .WithJsonBody<DeploymentRequest>();
        deployments.MapDelete("/{model}", DeleteAsync).WithName("DeleteDeployment").WithSummary("Undeploy: replicas unload the model; revisions stay");
        deployments.MapGet("/{model}/revisions", RevisionsAsync).WithName("ListDeploymentRevisions").WithSummary("Every revision of a deployment, newest first");
        return api;
    }

    private static async Task<Ok<DeploymentList>> ListAsync(SnapshotReader snapshots, RolloutStatusReader rollouts, CancellationToken cancellationToken)
    {
        var plan = new ConvergencePlan(await snapshots.ReadAsync(model: null, cancellationToken));
        var views = new List<DeploymentView>(plan.Snapshot.Deployments.Count);
        foreach (var deployment in plan.Snapshot.Deployments)
        {
            views.Add(await rollouts.DescribeAsync(deployment, DeploymentView.From(deployment, plan), cancellationToken));
        }
        return TypedResults.Ok(new DeploymentList(views));
    }

    private static async Task<Results<Ok<DeploymentView>, NotFoundProblem>> GetAsync(string model, DeploymentStatus status, CancellationToken cancellationToken) =>
        await status.ReadAsync(model, cancellationToken) is { } view ? TypedResults.Ok(view) : NoDeployment(model);

    private static async Task<Results<Ok<DeploymentView>, BodyProblem, BadRequestProblem, NotFoundProblem, ConflictProblem, UnprocessableProblem>> PutAsync(
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
        var (body, problem) = await JsonBody.ReadAsync<DeploymentRequest>(request, DeploymentRequest.Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        if (DeploymentSpecValidator.Validate(body!, out var errors) is not { } spec)
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
            case PutStatus.ArchivedVersions:
                return ApiProblems.Unprocessable(ArchivedVersions(model, spec, result.Archived!));
            case PutStatus.NotInProduction:
                return ApiProblems.Conflict(result.Problems![0]);
            case PutStatus.DoesNotFit:
                return ApiProblems.Unprocessable($"The deployment does not fit model '{model}': {string.Join("; ", result.Problems!)}.");
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
        return TypedResults.Ok(view with { Changed = result.Status != PutStatus.Unchanged });
    }

    private static async Task<Results<NoContent, NotFoundProblem>> DeleteAsync(
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
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<RevisionsView>, NotFoundProblem>> RevisionsAsync(string model, DeploymentStore store, CancellationToken cancellationToken) =>
        await store.RevisionsAsync(model, cancellationToken) is { } revisions
            ? TypedResults.Ok(new RevisionsView(model, revisions))
            : NoDeployment(model);

    internal static NotFoundProblem NoDeployment(string model) =>
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

    private static string ArchivedVersions(string model, DeploymentSpec spec, IReadOnlyList<long> archived)
    {
        var named = archived.Select(version =>
        {
            var roles = new List<string>();
            if (spec.Stable == version)
            {
                roles.Add("stable");
            }
            if (spec.Canary?.Version == version)
            {
                roles.Add("canary");
            }
            if (spec.Shadow?.Version == version)
            {
                roles.Add("shadow");
            }
            return string.Create(CultureInfo.InvariantCulture, $"version {version} (named as {string.Join(" and ", roles)})");
        });
        return $"Model '{model}' {string.Join(", ", named)} {(archived.Count == 1 ? "is" : "are")} archived: an archived version cannot be the stable, canary or shadow of a deployment. "
            + $"Name another version, or restore it with POST /api/v1/models/{model}/versions/{archived[0].ToString(CultureInfo.InvariantCulture)}/stage and {{\"stage\": \"none\"}}.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Model} {Change} (revision {Revision})")]
    private static partial void LogDeploymentChanged(ILogger logger, string model, long revision, string change);
}
