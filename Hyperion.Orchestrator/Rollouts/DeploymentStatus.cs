using Hyperion.Orchestrator.Deployments;

namespace Hyperion.Orchestrator.Rollouts;

/// <summary>A deployment's full status as <c>GET /api/v1/deployments/{m}</c> shows it: the deployment's view with its rollout and shadow analysis.</summary>
internal sealed class DeploymentStatus(SnapshotReader snapshots, RolloutStatusReader rollouts)
{
    public async Task<DeploymentView?> ReadAsync(string model, CancellationToken cancellationToken)
    {
        var plan = new ConvergencePlan(await snapshots.ReadAsync(model, cancellationToken));
        return plan.Snapshot.Deployments.SingleOrDefault() is { } deployment
            ? await rollouts.DescribeAsync(deployment, DeploymentView.From(deployment, plan), cancellationToken)
            : null;
    }
}
