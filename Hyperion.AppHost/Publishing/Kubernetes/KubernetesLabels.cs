using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>The labels every object carries, and the ones that select a resource's or a pool's pods.</summary>
internal static class KubernetesLabels
{
    public const string Name = "app.kubernetes.io/name";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary>Which pool a pod serves; Prometheus copies it onto the pod's series as <see cref="PoolMetricLabel"/>.</summary>
    public const string Pool = "hyperion.dev/pool";

    public const string PoolMetricLabel = "hyperion_dev_pool";

    public const string Application = "hyperion";
    public const string Manager = "hyperion-apphost";

    /// <summary>Immutable once a Deployment exists, so only what identifies the pods.</summary>
    public static Dictionary<string, string> Selector(string resource, string? pool = null)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { [Name] = resource };
        if (pool is not null)
        {
            labels[Pool] = pool;
        }
        return labels;
    }

    public static Dictionary<string, string> For(string resource, string? pool = null)
    {
        var labels = Selector(resource, pool);
        labels[PartOf] = Application;
        labels[ManagedBy] = Manager;
        return labels;
    }

    public static V1ObjectMeta Metadata(string name, string @namespace, string resource, string? pool = null) => new()
    {
        Name = name,
        NamespaceProperty = @namespace,
        Labels = For(resource, pool),
    };

    public static V1LabelSelector SelectorOf(string resource, string? pool = null) => new() { MatchLabels = Selector(resource, pool) };
}
