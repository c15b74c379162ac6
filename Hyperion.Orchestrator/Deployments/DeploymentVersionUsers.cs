using System.Globalization;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// The model's deployment as a user of its versions: the stable, canary and shadow it names, the stable that still
/// serves while a new one loads, and the previous stable kept loaded for an instant rollback.
/// </summary>
internal sealed class DeploymentVersionUsers : IVersionUsers
{
    public async Task<IReadOnlyList<VersionUse>> FindAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        // Held until the caller's transaction ends: a deployment PUT, promote or rollback of this model waits, then
        // sees the version's new stage (or its absence).
        await DeploymentStore.LockAsync(db, model, cancellationToken);
        if (await DeploymentStore.CurrentAsync(db, model, cancellationToken) is not { } deployment)
        {
            return [];
        }
        var move = $"Point deployment '{model}' at another version (PUT /api/v1/deployments/{model}) or undeploy it (DELETE /api/v1/deployments/{model}) first.";
        var uses = new List<VersionUse>();
        var spec = deployment.Spec;
        if (spec.Stable == version)
        {
            uses.Add(new VersionUse("deployment", model, "stable", Named: true, move));
        }
        if (spec.Canary?.Version == version)
        {
            uses.Add(new VersionUse("deployment", model, "canary", Named: true, move));
        }
        if (spec.Shadow?.Version == version)
        {
            uses.Add(new VersionUse("deployment", model, "shadow", Named: true, move));
        }
        if (uses.Count == 0 && deployment.ServingStable == version)
        {
            uses.Add(new VersionUse("deployment", model, $"stable still serving until version {spec.Stable} is ready", Named: false,
                $"Wait until version {spec.Stable} serves on every replica (GET /api/v1/deployments/{model} shows \"ready\": true)."));
        }
        if (uses.Count == 0 && deployment.RetainedStable == version && deployment.RetainedUntil is { } until)
        {
            uses.Add(new VersionUse("deployment", model,
                "previous stable, kept loaded for an instant rollback", Named: false,
                $"It is released at {until.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)} (Orchestrator:Rollouts:PreviousStableRetentionSeconds); delete it after that."));
        }
        return uses;
    }
}
