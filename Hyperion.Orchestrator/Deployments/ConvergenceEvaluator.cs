using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Applies what a fresh snapshot says: moves each deployment's serving stable once its desired stable is ready on
/// every replica holding it (blue-green; audited as <c>deployment.serving_changed</c> by <c>system:convergence</c>),
/// and publishes routing notices for models whose routing changed. Runs after every heartbeat and deployment
/// change; a move is a conditional update, so several orchestrators never make it twice.
/// </summary>
internal sealed partial class ConvergenceEvaluator(
    SnapshotReader snapshots,
    DeploymentStore deployments,
    ControlPlaneNotifier notifier,
    ILogger<ConvergenceEvaluator> logger)
{
    private readonly Lock _liveLock = new();
    private HashSet<string> _lastLive = new(StringComparer.Ordinal);

    /// <param name="routingChanged">Models whose routing changed already (a heartbeat's report); notices are published for them too.</param>
    public async Task<ConvergencePlan> EvaluateAsync(IEnumerable<string> routingChanged, CancellationToken cancellationToken)
    {
        var snapshot = await snapshots.ReadAsync(model: null, cancellationToken);
        var plan = new ConvergencePlan(snapshot);
        var notify = new SortedSet<string>(routingChanged, StringComparer.Ordinal);
        var moved = false;
        foreach (var deployment in snapshot.Deployments)
        {
            var next = plan.NextServingStable(deployment);
            if (next is { } to && next != deployment.ServingStable
                && await deployments.SetServingStableAsync(deployment, deployment.ServingStable, to, plan.ReadyOn(deployment, to), cancellationToken))
            {
                LogServingChanged(logger, deployment.Model, deployment.ServingStable?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", to, deployment.Revision);
                notify.Add(deployment.Model);
                moved = true;
                await notifier.PublishAsync(ControlPlaneChannels.DesiredChanged, deployment.Model);
            }
        }
        foreach (var model in ModelsOfDepartedReplicas(plan))
        {
            notify.Add(model);
        }
        foreach (var model in notify)
        {
            await notifier.PublishAsync(ControlPlaneChannels.RoutingChanged, model);
        }
        // After a move, read again rather than patch the records: the version moved off is now retained
        // (previous_stable), and a desired set computed without it would unload it for one heartbeat.
        return moved ? new ConvergencePlan(await snapshots.ReadAsync(model: null, cancellationToken)) : plan;
    }

    /// <summary>Deployments in the pools of replicas that were live at the last evaluation and are not now: their routing lost a replica.</summary>
    private IEnumerable<string> ModelsOfDepartedReplicas(ConvergencePlan plan)
    {
        var live = plan.Snapshot.Replicas.Select(replica => replica.Id).ToHashSet(StringComparer.Ordinal);
        HashSet<string> departed;
        lock (_liveLock)
        {
            departed = [.. _lastLive.Except(live)];
            _lastLive = live;
        }
        if (departed.Count == 0)
        {
            return [];
        }
        foreach (var replica in departed)
        {
            LogReplicaDeparted(logger, replica);
        }
        return plan.Snapshot.Deployments.Select(deployment => deployment.Model);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Model}: stable traffic moves from version {From} to {To} (revision {Revision}), ready on every replica")]
    private static partial void LogServingChanged(ILogger logger, string model, string from, long to, long revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Replica} stopped heartbeating; it no longer counts for deployments or routing")]
    private static partial void LogReplicaDeparted(ILogger logger, string replica);
}
