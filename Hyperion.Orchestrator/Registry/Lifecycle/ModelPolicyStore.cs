using Hyperion.Orchestrator.Audit;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Persistence;
using Npgsql;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// A model's approval policy (<c>models.require_approval</c>). Turning it on checks, under the deployment's lock, that
/// the deployment already keeps to it (its stable, and a planned canary, in production), so that under the policy a
/// deployment's stable is a production version from the first moment on.
/// </summary>
internal sealed class ModelPolicyStore(NpgsqlDataSource dataSource)
{
    public async Task<PolicyResult> SetAsync(string model, ModelPolicy policy, string? reason, string actor, CancellationToken cancellationToken)
    {
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        // The same order as a deployment PUT (its lock, then the model's row), so the two never wait on each other in a circle.
        await DeploymentStore.LockAsync(db, model, cancellationToken);
        bool before;
        await using (var read = db.Command("SELECT require_approval FROM models WHERE name = @model FOR UPDATE"))
        {
            read.Bind("model", model);
            if (await read.ExecuteScalarAsync(cancellationToken) is not bool current)
            {
                return new PolicyResult(PolicyStatus.NoModel, null, null);
            }
            before = current;
        }
        if (before == policy.RequireApproval)
        {
            return new PolicyResult(PolicyStatus.Unchanged, policy, null);
        }
        if (policy.RequireApproval && await DeploymentStore.CurrentAsync(db, model, cancellationToken) is { } deployment)
        {
            var named = new List<(long Version, string Role)> { (deployment.Spec.Stable, "stable") };
            if (Rollouts.CanaryPlan.IsPlan(deployment.Spec.Canary))
            {
                named.Add((deployment.Spec.Canary!.Version, ApprovalPolicy.PlanCanaryRole));
            }
            foreach (var (version, role) in named)
            {
                if (await ApprovalPolicy.StageAsync(db, model, version, cancellationToken) is { } stage && stage != VersionStage.Production)
                {
                    return new PolicyResult(PolicyStatus.DeploymentNotInProduction, null,
                        $"Model '{model}' cannot require approval yet: its deployment names version {version} as {role}, which is in stage "
                        + $"'{StoredNames<VersionStage>.Name(stage)}', and under the policy only production versions can be stable. Move it to production first "
                        + $"(POST /api/v1/models/{model}/versions/{version}/stage with {{\"stage\": \"production\"}}), or point the deployment at a production version, then turn the policy on.");
                }
            }
        }
        await using (var update = db.Command("UPDATE models SET require_approval = @require_approval, updated_at = now() WHERE name = @model"))
        {
            update.Bind("model", model);
            update.Bind("require_approval", policy.RequireApproval);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await AuditLog.AppendAsync(db, new AuditEntry(
            Actor: actor,
            Action: AuditAction.ModelPolicyChanged,
            Model: model,
            Target: "policy",
            Before: new ModelPolicy(before),
            After: policy,
            Details: new { reason }), cancellationToken);
        await db.CommitAsync(cancellationToken);
        return new PolicyResult(PolicyStatus.Done, policy, null);
    }
}

internal enum PolicyStatus
{
    Done,
    Unchanged,
    NoModel,
    DeploymentNotInProduction,
}

/// <param name="Conflict">Why the policy cannot be turned on now (<see cref="PolicyStatus.DeploymentNotInProduction"/>).</param>
internal sealed record PolicyResult(PolicyStatus Status, ModelPolicy? Policy, string? Conflict);
