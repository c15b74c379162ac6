using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Pipelines;
using Npgsql;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// What a job scores with. At submission: the model version it pins (the one asked for, or the deployment's stable)
/// or the pipeline, and what a line holds. While it runs: where to send its batches (the replicas that serve the
/// version, or the gateways that run the pipeline), and whether its target still exists.
/// </summary>
internal sealed class JobTargets(NpgsqlDataSource dataSource, SnapshotReader snapshots, PipelineStore pipelines, IConfiguration configuration)
{
    private const string RequestSource = "$request.";

    /// <summary>The target, or the status and message that say why a job cannot score with it.</summary>
    public async Task<(JobTarget? Target, int Status, string? Problem)> ResolveAsync(JobTargetSpec spec, long? version, CancellationToken cancellationToken)
    {
        if (spec.Pipeline is { } pipeline)
        {
            return await LoadPipelineAsync(pipeline, cancellationToken) is { } target
                ? (target, StatusCodes.Status200OK, null)
                : (null, StatusCodes.Status400BadRequest, $"target.pipeline: pipeline '{pipeline}' does not exist; create it with PUT /api/v1/pipelines/{pipeline} first.");
        }
        var model = spec.Model!;
        if (!await ModelExistsAsync(model, cancellationToken))
        {
            return (null, StatusCodes.Status400BadRequest, $"target.model: model '{model}' is not registered; register it with POST /api/v1/models first.");
        }
        var snapshot = await snapshots.ReadAsync(model, cancellationToken);
        if (snapshot.Deployments is not [var deployment])
        {
            return (null, StatusCodes.Status409Conflict,
                $"model '{model}' has no deployment: a job's lines are scored by the replicas that serve a version; PUT /api/v1/deployments/{model} first.");
        }
        var held = ConvergencePlan.HeldVersions(deployment);
        var pinned = version ?? deployment.ServingStable ?? deployment.Spec.Stable;
        if (!held.Contains(pinned))
        {
            return (null, StatusCodes.Status409Conflict,
                $"version {pinned} of '{model}' is not deployed (its deployment holds {string.Join(", ", held)}): add it to the deployment as stable, canary or shadow, or leave version out to score with the stable version.");
        }
        return await LoadModelAsync(model, pinned, cancellationToken) is { } resolved
            ? (resolved, StatusCodes.Status200OK, null)
            : (null, StatusCodes.Status409Conflict, $"version {pinned} of '{model}' does not exist.");
    }

    /// <summary>The target as it stands now (a pipeline at its current revision); null when it is gone.</summary>
    public Task<JobTarget?> LoadAsync(string kind, string name, long? version, CancellationToken cancellationToken) =>
        kind == JobTargetKinds.Pipeline ? LoadPipelineAsync(name, cancellationToken) : LoadModelAsync(name, version!.Value, cancellationToken);

    /// <summary>
    /// Where a batch may go now: the HTTP URLs of the live replicas on which the model version is ready, or every
    /// gateway replica for a pipeline; <c>Exists</c> false when the version left its deployment.
    /// </summary>
    public async Task<(IReadOnlyList<string> Urls, bool Exists)> ServingAsync(JobTarget target, CancellationToken cancellationToken)
    {
        if (target.Kind == JobTargetKinds.Pipeline)
        {
            return (GatewayUrls(), true);
        }
        var snapshot = await snapshots.ReadAsync(target.Name, cancellationToken);
        var deployed = snapshot.Deployments is [var deployment] && ConvergencePlan.HeldVersions(deployment).Contains(target.Version);
        var urls = new List<string>();
        foreach (var replica in snapshot.Replicas)
        {
            if (snapshot.States.Any(state => state.Replica == replica.Id && state.Model == target.Name && state.Version == target.Version && state.State == ReplicaModelPhase.Ready))
            {
                urls.Add(replica.HttpUrl);
            }
        }
        return (urls, deployed);
    }

    /// <summary>The gateways' URLs as service discovery hands them to this process (<c>services:gateway:http:N</c>).</summary>
    private List<string> GatewayUrls() =>
        [.. configuration.GetSection("services:gateway:http").GetChildren().Select(endpoint => endpoint.Value).OfType<string>()];

    private async Task<JobTarget?> LoadModelAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("SELECT config::text FROM model_versions WHERE model = @model AND version = @version");
        command.Bind("model", model);
        command.Bind("version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is string config && JsonSerializer.Deserialize<ModelConfig>(config) is { } parsed
            ? JobTarget.Model(model, version, parsed)
            : null;
    }

    /// <summary>
    /// A pipeline's current revision as a job sees it: a line holds every tensor a step takes from the request, with
    /// that step's model input's datatype and dims; lines are batched only when every step's model takes a batch.
    /// </summary>
    private async Task<JobTarget?> LoadPipelineAsync(string name, CancellationToken cancellationToken)
    {
        if (await pipelines.GetAsync(name, null, cancellationToken) is not { } pipeline)
        {
            return null;
        }
        var models = pipeline.Spec.Steps.Select(step => step.Model).Distinct(StringComparer.Ordinal).ToArray();
        Dictionary<string, RegisteredModel> registry;
        await using (var db = await Db.OpenAsync(dataSource, cancellationToken))
        {
            registry = await PipelineStore.ReadRegistryAsync(db, models, cancellationToken);
        }
        var inputs = new List<JobInput>();
        var maxBatch = int.MaxValue;
        foreach (var step in pipeline.Spec.Steps)
        {
            if (!registry.TryGetValue(step.Model, out var model) || model.CheckedVersion(step.Version) is not { } version)
            {
                return null;
            }
            var config = model.Versions[version];
            maxBatch = config.MaxBatchSize > 0 ? Math.Min(maxBatch, config.MaxBatchSize) : 0;
            foreach (var input in config.Input)
            {
                var source = step.Inputs is null ? RequestSource + input.Name : step.Inputs.GetValueOrDefault(input.Name);
                if (source is not null && source.StartsWith(RequestSource, StringComparison.Ordinal)
                    && !inputs.Exists(known => known.Name == source[RequestSource.Length..])
                    && JobInput.From(input, source[RequestSource.Length..]) is { } requested)
                {
                    inputs.Add(requested);
                }
            }
        }
        return new JobTarget(JobTargetKinds.Pipeline, name, pipeline.Revision, inputs, maxBatch == int.MaxValue ? 0 : maxBatch, models);
    }

    private async Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("SELECT 1 FROM models WHERE name = @model");
        command.Bind("model", model);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
