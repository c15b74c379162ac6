using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// What a model job scores with: at submission, the version it pins (the one asked for, or the deployment's stable)
/// and that version's inputs; while it runs, the replicas that serve that version, and whether it is still deployed.
/// </summary>
internal sealed class JobTargets(NpgsqlDataSource dataSource, SnapshotReader snapshots)
{
    /// <summary>The target, or the status and message that say why a job cannot score with it.</summary>
    public async Task<(JobTarget? Target, int Status, string? Problem)> ResolveAsync(string model, long? version, CancellationToken cancellationToken)
    {
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
        return await LoadAsync(model, pinned, cancellationToken) is { } target
            ? (target, StatusCodes.Status200OK, null)
            : (null, StatusCodes.Status409Conflict, $"version {pinned} of '{model}' does not exist.");
    }

    /// <summary>The version's inputs and batch size from its stored config; null when the version is gone.</summary>
    public async Task<JobTarget?> LoadAsync(string model, long version, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("SELECT config::text FROM model_versions WHERE model = @model AND version = @version");
        command.Bind("model", model);
        command.Bind("version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is string config && JsonSerializer.Deserialize<ModelConfig>(config) is { } parsed
            ? JobTarget.From(model, version, parsed)
            : null;
    }

    /// <summary>The HTTP URLs of the live replicas on which the version is ready; <c>Deployed</c> false when the deployment no longer holds it.</summary>
    public async Task<(IReadOnlyList<string> Urls, bool Deployed)> ServingAsync(string model, long version, CancellationToken cancellationToken)
    {
        var snapshot = await snapshots.ReadAsync(model, cancellationToken);
        var deployed = snapshot.Deployments is [var deployment] && ConvergencePlan.HeldVersions(deployment).Contains(version);
        var urls = new List<string>();
        foreach (var replica in snapshot.Replicas)
        {
            if (snapshot.States.Any(state => state.Replica == replica.Id && state.Model == model && state.Version == version && state.State == ReplicaModelPhase.Ready))
            {
                urls.Add(replica.HttpUrl);
            }
        }
        return (urls, deployed);
    }

    private async Task<bool> ModelExistsAsync(string model, CancellationToken cancellationToken)
    {
        await using var db = await Db.OpenAsync(dataSource, cancellationToken);
        await using var command = db.Command("SELECT 1 FROM models WHERE name = @model");
        command.Bind("model", model);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
