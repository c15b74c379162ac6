using System.Globalization;
using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Whether a deployment's <c>max_batch_size</c> and <c>batching</c> overrides fit a version's stored config, so a
/// spec every replica would fail to load is refused when it is put rather than found on the replicas afterwards.
/// </summary>
internal static class VersionOverridesCheck
{
    /// <summary>What does not fit <paramref name="version"/>, each naming the field and what was expected; empty when it all fits.</summary>
    public static IEnumerable<string> Problems(long version, JsonObject stored, DeploymentSpec spec)
    {
        var storedMax = stored["max_batch_size"]?.GetValue<int>() ?? 0;
        var max = spec.MaxBatchSize ?? storedMax;
        var label = "version " + version.ToString(CultureInfo.InvariantCulture);
        if (spec.MaxBatchSize is { } overridden && (overridden > 0) != (storedMax > 0))
        {
            yield return storedMax == 0
                ? $"max_batch_size {overridden} does not fit {label}: it has no batch dimension (its max_batch_size is 0), so it must stay 0"
                : $"max_batch_size 0 does not fit {label}: its inputs have a batch dimension (its max_batch_size is {storedMax}), so it must be 1 or more";
            yield break;
        }
        if (spec.Batching is not { } batching)
        {
            yield break;
        }
        if (max == 0)
        {
            yield return $"batching does not fit {label}: it has no batch dimension (max_batch_size 0), so requests cannot be batched";
            yield break;
        }
        foreach (var preferred in batching.PreferredBatchSize ?? [])
        {
            if (preferred > max)
            {
                yield return $"batching.preferred_batch_size {preferred} does not fit {label}: it is over its max_batch_size {max} (raise max_batch_size in the spec or choose sizes up to {max})";
            }
        }
    }
}
