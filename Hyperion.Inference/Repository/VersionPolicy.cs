using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Repository;

/// <summary>Triton's version_policy: which of the version folders a model serves (latest 1 when unset).</summary>
internal static class VersionPolicy
{
    /// <summary>The versions to serve, highest first; specific versions missing on disk are kept so their absence is reported.</summary>
    public static List<long> Select(IReadOnlyList<long> available, VersionPolicyConfig? policy)
    {
        var selected = new List<long>();
        if (policy?.Specific is { } specific)
        {
            foreach (var version in specific.Versions)
            {
                if (!selected.Contains(version))
                {
                    selected.Add(version);
                }
            }
        }
        else if (policy?.All is not null)
        {
            selected.AddRange(available);
        }
        else
        {
            var latest = policy?.Latest?.NumVersions ?? 1;
            for (var i = available.Count - 1; i >= 0 && selected.Count < latest; i--)
            {
                selected.Add(available[i]);
            }
        }
        selected.Sort((a, b) => b.CompareTo(a));
        return selected;
    }
}
