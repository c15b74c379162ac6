using System.Globalization;
using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// <c>/api/v1/jobs</c>: submit (any key that may call the target), read, list, results, cancel. A job is seen and
/// cancelled by the key that submitted it, and by <c>deploy</c> and <c>admin</c> keys.
/// </summary>
internal static class JobEndpoints
{
    private const int DefaultListLimit = 100;

    public static RouteGroupBuilder MapJobEndpoints(this RouteGroupBuilder api)
    {
        var jobs = api.MapGroup("/jobs").WithTags("Batch jobs");
        jobs.MapPost("/", (HttpContext context, ClaimsPrincipal user, JobSubmission submission, CancellationToken cancellationToken) =>
                submission.HandleAsync(context, user, cancellationToken))
            .WithName("SubmitJob").WithSummary("Queue a batch job: multipart 'spec' (JSON) and 'input' (JSONL, or CSV for a one-input model)")
            .DisableAntiforgery();
        jobs.MapGet("/", ListAsync).WithName("ListJobs").WithSummary("Jobs, newest first (?state=, ?limit=)");
        jobs.MapGet("/{id}", GetAsync).WithName("GetJob").WithSummary("A job's state and counts");
        jobs.MapGet("/{id}/results", ResultsAsync).WithName("GetJobResults")
            .WithSummary("JSONL in input order, one line per input line: outputs or error");
        jobs.MapPost("/{id}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Stop a queued or running job; finished chunks keep their results");
        return api;
    }

    private static async Task<Results<Ok<JobList>, BadRequestProblem>> ListAsync(
        HttpRequest request, ClaimsPrincipal user, JobStore store, CancellationToken cancellationToken)
    {
        var state = request.Query["state"].ToString();
        if (state.Length > 0 && state is not (JobStates.Queued or JobStates.Running or JobStates.Succeeded or JobStates.Failed or JobStates.Cancelled))
        {
            return ApiProblems.BadRequest($"state must be one of queued, running, succeeded, failed, cancelled; got '{state}'.");
        }
        var limit = DefaultListLimit;
        if (request.Query.TryGetValue("limit", out var text)
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return ApiProblems.BadRequest($"limit must be a number from 1 to 1000, got '{text}'.");
        }
        var jobs = await store.ListAsync(SeesAll(user) ? null : ActorClaims.ActorOf(user), state.Length > 0 ? state : null, limit, cancellationToken);
        return TypedResults.Ok(new JobList([.. jobs.Select(job => JobView.From(job))]));
    }

    private static async Task<Results<Ok<JobView>, BadRequestProblem, NotFoundProblem>> GetAsync(
        string id, ClaimsPrincipal user, JobStore store, CancellationToken cancellationToken)
    {
        var (job, badId, missing) = await FindAsync(id, user, store, cancellationToken);
        return job is not null ? TypedResults.Ok(JobView.From(job)) : badId is not null ? badId : missing!;
    }

    private static async Task<Results<Ok<JobView>, BadRequestProblem, NotFoundProblem, ConflictProblem>> CancelAsync(
        string id, ClaimsPrincipal user, JobStore store, ILogger<JobStore> logger, CancellationToken cancellationToken)
    {
        var (job, badId, missing) = await FindAsync(id, user, store, cancellationToken);
        if (job is null)
        {
            return badId is not null ? badId : missing!;
        }
        if (await store.CancelAsync(job.Id, ActorClaims.ActorOf(user), cancellationToken) is not { } outcome)
        {
            return NoJob(id);
        }
        if (!outcome.Cancelled && outcome.Job.State != JobStates.Cancelled)
        {
            return ApiProblems.Conflict($"job {job.Id} has already {outcome.Job.State}; only a queued or running job can be cancelled.");
        }
        return TypedResults.Ok(JobView.From(outcome.Job));
    }

    private static async Task<IResult> ResultsAsync(
        string id, HttpContext context, ClaimsPrincipal user, JobStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var (job, badId, missing) = await FindAsync(id, user, store, cancellationToken);
        if (job is null)
        {
            return (IResult?)badId ?? missing!;
        }
        if (!job.IsFinished)
        {
            return ApiProblems.Conflict(
                $"job {job.Id} is {job.State} ({job.Done} of {job.Total} lines done): its results are ready once it has succeeded, failed or been cancelled; GET /api/v1/jobs/{job.Id} shows its progress.");
        }
        var chunks = await store.ResultsAsync(job.Id, cancellationToken);
        context.Response.ContentType = "application/x-ndjson";
        context.Response.Headers["X-Hyperion-Job-State"] = job.State;
        foreach (var (_, _, digest) in chunks)
        {
            await using var blob = await artifacts.OpenReadAsync(digest, cancellationToken)
                ?? throw new InvalidOperationException($"the results {digest} of job {job.Id} are missing from the artifact store");
            await blob.CopyToAsync(context.Response.Body, cancellationToken);
        }
        return Results.Empty;
    }

    private static async Task<(JobRecord? Job, BadRequestProblem? BadId, NotFoundProblem? Missing)> FindAsync(
        string id, ClaimsPrincipal user, JobStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var guid))
        {
            return (null, ApiProblems.BadRequest($"'{id}' is not a job id; ids are UUIDs, as POST /api/v1/jobs answered."), null);
        }
        // Someone else's job is answered as missing: ids must not tell a caller what others run.
        return await store.GetAsync(guid, cancellationToken) is { } job && (SeesAll(user) || job.CreatedBy == ActorClaims.ActorOf(user))
            ? (job, null, null)
            : (null, null, NoJob(id));
    }

    private static bool SeesAll(ClaimsPrincipal user) => Scopes.AllowsDeploy(ActorClaims.ScopesOf(user));

    private static NotFoundProblem NoJob(string id) => ApiProblems.NotFound($"there is no job '{id}'; GET /api/v1/jobs lists yours.");
}
