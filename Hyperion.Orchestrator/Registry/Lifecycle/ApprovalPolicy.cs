using Hyperion.Orchestrator.Persistence;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// What a model's approval policy (<see cref="ModelPolicy.RequireApproval"/>) asks of the versions its deployment
/// makes stable: that they be in production. Read in the transaction that chooses a stable (a deployment PUT, a
/// promotion, turning the policy on), under the deployment's advisory lock, which a stage move also takes: a version
/// cannot leave production between the check and the commit.
/// </summary>
internal static class ApprovalPolicy
{
    /// <summary>How a message names a planned canary: under the policy it must be in production too.</summary>
    public const string PlanCanaryRole = "the canary of a plan (which ends by making it stable)";

    /// <summary>Whether <paramref name="model"/> requires approval; false when there is no such model.</summary>
    public static async Task<bool> RequiredAsync(Db db, string model, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT require_approval FROM models WHERE name = @model");
        command.Bind("model", model);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>The version's stage; null when there is no such version.</summary>
    public static async Task<VersionStage?> StageAsync(Db db, string model, long version, CancellationToken cancellationToken)
    {
        await using var command = db.Command("SELECT stage FROM model_versions WHERE model = @model AND version = @version");
        command.Bind("model", model);
        command.Bind("version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is string stage ? RegistryStore.ParseStage(stage) : null;
    }

    /// <summary>
    /// Why <paramref name="version"/> cannot become (or be) the stable of <paramref name="model"/>'s deployment under the
    /// policy, or null when it can: it is in production, or the policy is off.
    /// </summary>
    /// <param name="role">How the deployment would name it: "stable", or "the canary of a plan (which ends by making it stable)".</param>
    public static async Task<string?> StableRefusalAsync(Db db, string model, long version, string role, CancellationToken cancellationToken)
    {
        if (!await RequiredAsync(db, model, cancellationToken) || await StageAsync(db, model, version, cancellationToken) is not { } stage || stage == VersionStage.Production)
        {
            return null;
        }
        return NotInProduction(model, version, stage, role);
    }

    public static string NotInProduction(string model, long version, VersionStage stage, string role) =>
        $"Model '{model}' requires approval (its policy: require_approval), so only a production version can be its stable, "
        + $"and version {version}, named as {role}, is in stage '{StoredNames<VersionStage>.Name(stage)}'. "
        + $"A key with the 'approve' scope that did not upload it moves it to production with POST /api/v1/models/{model}/versions/{version}/stage "
        + """and {"stage": "production", "reason": "..."}; until then it may take a canary share with a fixed "percent", or a shadow copy.""";
}
