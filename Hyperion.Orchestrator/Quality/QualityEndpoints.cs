using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Security;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// <c>/api/v1/models/{m}/drift</c> (latest), <c>/drift/history</c>, <c>POST /drift/run</c> and <c>/quality</c>
/// (deploy scope): drift against the version's baseline profile and quality over labelled traffic.
/// </summary>
internal static class QualityEndpoints
{
    public const int DefaultHistoryLimit = 100;
    public const int MaxHistoryLimit = 10_000;

    public static RouteGroupBuilder MapQualityEndpoints(this RouteGroupBuilder api)
    {
        var models = api.MapGroup("/models").RequireAuthorization(ScopePolicies.Deploy).WithTags("Model quality");
        models.MapGet("/{model}/drift", LatestAsync).WithName("GetModelDrift")
            .WithSummary("The latest drift of a version (?version=, default the deployment's stable) against its baseline profile");
        models.MapGet("/{model}/drift/history", HistoryAsync).WithName("GetModelDriftHistory")
            .WithSummary("A version's drift over time, newest first (?version=, ?since= ISO 8601, ?limit= up to 10000)");
        models.MapPost("/{model}/drift/run", RunAsync).WithName("RunModelDrift")
            .WithSummary("Compute a version's drift now, store it and answer it (the same body as GET .../drift)");
        models.MapGet("/{model}/quality", QualityAsync).WithName("GetModelQuality")
            .WithSummary("A version's quality over labelled traffic (?version=, ?since=, ?until=): accuracy, macro F1 and per class for classifiers, MAE and RMSE for regression");
        api.MapPost("/drift/run", RunAllAsync).RequireAuthorization(ScopePolicies.Deploy).WithTags("Model quality").WithName("RunDriftRound")
            .WithSummary("One round of the drift schedule now: every version of every monitored deployment (what the Kubernetes CronJob calls)");
        return api;
    }

    private static async Task<Ok<DriftRound>> RunAllAsync(ClaimsPrincipal user, DriftScheduler scheduler, TimeProvider time, CancellationToken cancellationToken)
    {
        var computedAt = time.GetUtcNow();
        return TypedResults.Ok(new DriftRound(computedAt, await scheduler.RunAsync(ActorClaims.ActorOf(user), cancellationToken)));
    }

    private static async Task<Results<Ok<DriftResult>, BadRequestProblem, NotFoundProblem, UnprocessableProblem>> LatestAsync(
        string model, string? version, NpgsqlDataSource dataSource, IOptions<QualityOptions> options, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        var (target, problem) = await QualityTarget.ResolveAsync(db, model, version, cancellationToken);
        if (target is null)
        {
            return Narrow<DriftResult>(problem!);
        }
        if (target.Version.Profile is null)
        {
            return NoBaseline(target.Version);
        }
        var stored = await DriftResultStore.LatestAsync(db, model, target.Version.Version, cancellationToken);
        if (stored is null)
        {
            var schedule = target.Monitoring is null
                ? "the schedule computes it only for deployments with \"monitoring\""
                : string.Create(CultureInfo.InvariantCulture, $"the schedule computes it every {options.Value.DriftIntervalSeconds:0.##} s");
            return ApiProblems.NotFound(
                $"no drift computed yet for version {target.Version.Version} of '{model}'; POST /api/v1/models/{model}/drift/run computes it now ({schedule})");
        }
        return TypedResults.Ok(JsonSerializer.Deserialize<DriftResult>(stored, ControlPlaneJson.Options)!);
    }

    private static async Task<Results<Ok<DriftHistory>, BadRequestProblem, NotFoundProblem, UnprocessableProblem>> HistoryAsync(
        string model, string? version, string? since, string? limit, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (!DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return ApiProblems.BadRequest($"since '{since}' is not a time; expected ISO 8601 such as 2030-01-01T00:00:00Z");
            }
            from = parsed;
        }
        var count = DefaultHistoryLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > MaxHistoryLimit))
        {
            return ApiProblems.BadRequest($"limit '{limit}' is not a whole number from 1 to {MaxHistoryLimit}");
        }
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        var (target, problem) = await QualityTarget.ResolveAsync(db, model, version, cancellationToken);
        if (target is null)
        {
            return Narrow<DriftHistory>(problem!);
        }
        if (target.Version.Profile is null)
        {
            return NoBaseline(target.Version);
        }
        var points = await DriftResultStore.HistoryAsync(db, model, target.Version.Version, from, count, cancellationToken);
        return TypedResults.Ok(new DriftHistory(model, target.Version.Version, points));
    }

    private static async Task<Results<Ok<DriftResult>, BadRequestProblem, NotFoundProblem, UnprocessableProblem>> RunAsync(
        string model, string? version, ClaimsPrincipal user, NpgsqlDataSource dataSource, DriftRunner runner, CancellationToken cancellationToken)
    {
        QualityTarget? target;
        ApiProblem? problem;
        await using (var db = await Db.OpenAsync(dataSource, cancellationToken))
        {
            (target, problem) = await QualityTarget.ResolveAsync(db, model, version, cancellationToken);
        }
        if (target is null)
        {
            return Narrow<DriftResult>(problem!);
        }
        if (target.Version.Profile is null)
        {
            return NoBaseline(target.Version);
        }
        return TypedResults.Ok(await runner.RunAsync(target.Version, target.Monitoring, DriftTriggers.Manual, ActorClaims.ActorOf(user), cancellationToken));
    }

    private static async Task<Results<Ok<QualityReport>, BadRequestProblem, NotFoundProblem>> QualityAsync(
        string model, string? version, string? since, string? until, NpgsqlDataSource dataSource, TimeProvider time, CancellationToken cancellationToken)
    {
        DateTimeOffset? from = null;
        var to = time.GetUtcNow();
        foreach (var (name, text) in new[] { ("since", since), ("until", until) })
        {
            if (text is null)
            {
                continue;
            }
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return ApiProblems.BadRequest($"{name} '{text}' is not a time; expected ISO 8601 such as 2030-01-01T00:00:00Z");
            }
            if (name == "since")
            {
                from = parsed;
            }
            else
            {
                to = parsed;
            }
        }
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        var (target, problem) = await QualityTarget.ResolveAsync(db, model, version, cancellationToken);
        if (target is null)
        {
            return problem is BadRequestProblem bad ? bad : (NotFoundProblem)problem!;
        }
        var output = target.Monitoring?.PredictionOutput ?? target.Version.FirstOutput;
        var report = await QualityReader.ReadAsync(db, target.Version, output, from, to, cancellationToken);
        return TypedResults.Ok(report);
    }

    private static UnprocessableProblem NoBaseline(MonitoredVersion version) =>
        ApiProblems.Unprocessable(
            $"version {version.Version} of '{version.Model}' has no baseline_profile, so there is nothing to measure drift against; " +
            $"register a version with a 'baseline_profile' part (per-feature histograms of its training inputs, see docs/model-quality.md)");

    private static Results<Ok<T>, BadRequestProblem, NotFoundProblem, UnprocessableProblem> Narrow<T>(ApiProblem problem) => problem switch
    {
        BadRequestProblem bad => bad,
        NotFoundProblem missing => missing,
        _ => throw new InvalidOperationException($"unexpected problem {problem.StatusCode}"),
    };
}
