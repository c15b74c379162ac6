using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Pipelines;
using Hyperion.Orchestrator.Teams;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// The internal routes replicas and gateways call: the replica heartbeat (report in, desired set out) and the
/// routing table.
/// </summary>
internal static partial class ClusterEndpoints
{
    public const string GroupPrefix = "/internal/v1";

    private const int MaxReplicaIdLength = 200;

    private const string ReportExample =
        """{"pool": "cpu", "http_url": "http://10.0.0.5:8080", "grpc_url": null, "started_at": "2030-01-01T00:00:00Z", "models": [{"model": "digits", "version": 1, "state": "ready"}]}""";

    public static RouteGroupBuilder MapClusterEndpoints(this RouteGroupBuilder cluster)
    {
        cluster.MapPut(WithinGroup(ControlPlaneRoutes.ReplicaHeartbeat), HeartbeatAsync);
        cluster.MapGet(WithinGroup(ControlPlaneRoutes.Routing), RoutingAsync);
        return cluster;
    }

    /// <summary>The contracts name routes in full; the group already adds <c>/internal/v1</c>.</summary>
    private static string WithinGroup(string route) =>
        route.StartsWith(GroupPrefix, StringComparison.Ordinal)
            ? route[GroupPrefix.Length..]
            : throw new InvalidOperationException($"internal route {route} must start with {GroupPrefix}");

    private static async Task<Results<Ok<DesiredModelSet>, BodyProblem, BadRequestProblem>> HeartbeatAsync(
        string replicaId,
        HttpRequest request,
        ReplicaStore replicas,
        ConvergenceEvaluator evaluator,
        IOptions<OrchestratorOptions> options,
        ILogger<ReplicaStore> logger,
        CancellationToken cancellationToken)
    {
        var (report, unreadable) = await JsonBody.ReadAsync<ReplicaReport>(request, ReportExample, cancellationToken);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (Invalid(replicaId, report!) is { } problem)
        {
            return ApiProblems.BadRequest(problem);
        }

        var change = await replicas.RecordAsync(replicaId, report!, cancellationToken);
        if (change.Rejoined)
        {
            LogReplicaJoined(logger, replicaId, report!.Pool, report.HttpUrl, report.Models.Count);
        }
        var plan = await evaluator.EvaluateAsync(change.ChangedModels, cancellationToken);
        var settings = options.Value;
        return TypedResults.Ok(new DesiredModelSet(settings.ReplicaHeartbeatIntervalSeconds, settings.ReplicaTtlSeconds, plan.DesiredFor(replicaId)));
    }

    private static async Task<Ok<RoutingTable>> RoutingAsync(SnapshotReader snapshots, PipelineStore pipelines, TeamStore teams, CancellationToken cancellationToken) =>
        TypedResults.Ok(new ConvergencePlan(await snapshots.ReadAsync(model: null, cancellationToken)).RoutingTable() with
        {
            Pipelines = await pipelines.RoutesAsync(cancellationToken),
            ModelTeams = await teams.ModelTeamsAsync(cancellationToken),
        });

    /// <summary>What is wrong with a report, or null. Replicas are ours, but a bad one must get a 400, not a 500.</summary>
    private static string? Invalid(string replicaId, ReplicaReport report)
    {
        if (string.IsNullOrWhiteSpace(replicaId) || replicaId.Length > MaxReplicaIdLength)
        {
            return $"the replica id must be 1 to {MaxReplicaIdLength} characters";
        }
        if (report.Pool is null || !DeploymentSpecValidator.IsPoolName(report.Pool))
        {
            return $"pool must be a pool name of lowercase letters, digits and '-', got '{report.Pool}'";
        }
        if (!IsHttpUrl(report.HttpUrl))
        {
            return $"http_url must be an absolute http(s) URL, got '{report.HttpUrl}'";
        }
        if (report.GrpcUrl is not null && !IsHttpUrl(report.GrpcUrl))
        {
            return $"grpc_url must be an absolute http(s) URL or null, got '{report.GrpcUrl}'";
        }
        if (report.Models is null)
        {
            return "models is required (an empty list when the replica holds nothing)";
        }
        foreach (var model in report.Models)
        {
            if (model is null || string.IsNullOrEmpty(model.Model) || model.Version < 1)
            {
                return "every entry of models needs a model name and a version of 1 or more";
            }
        }
        return null;
    }

    private static bool IsHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Replica} joined pool {Pool} at {Url}, holding {Versions} model versions")]
    private static partial void LogReplicaJoined(ILogger logger, string replica, string pool, string url, int versions);
}
