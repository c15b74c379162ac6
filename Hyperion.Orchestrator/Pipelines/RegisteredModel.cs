using Hyperion.Contracts.Models;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>A registered model as a pipeline's check needs it: each version's repository config, and what its deployment serves.</summary>
/// <param name="DeployedStable">The deployment's stable version; null when the model has no deployment.</param>
internal sealed record RegisteredModel(string Name, IReadOnlyDictionary<long, ModelConfig> Versions, long? DeployedStable)
{
    /// <summary>
    /// The version a step is checked against: its pinned one; else the deployment's stable (what serves the step
    /// today); else the newest version. Null when there is none.
    /// </summary>
    public long? CheckedVersion(long? pinned)
    {
        if (pinned is not null)
        {
            return Versions.ContainsKey(pinned.Value) ? pinned : null;
        }
        if (DeployedStable is { } stable && Versions.ContainsKey(stable))
        {
            return stable;
        }
        return Versions.Count == 0 ? null : Versions.Keys.Max();
    }
}
