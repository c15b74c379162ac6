using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Backends;

/// <summary>
/// Where a model version's instances run: per instance group and device, the kind the config asked for and the
/// device the backend opened them on, which differ only for a "gpu" group that fell back to CPU
/// (<see cref="InstanceGroupConfig.AllowCpuFallback"/>); <see cref="Notes"/> says why, one sentence per such device.
/// </summary>
/// <param name="Instances">One entry per kind and device (a gauge may not report one series twice).</param>
internal sealed record ModelPlacement(IReadOnlyList<InstancePlacement> Instances, IReadOnlyList<string> Notes)
{
    /// <summary>Adds up the instances of groups that asked for the same kind and landed on the same device.</summary>
    public static ModelPlacement Of(IEnumerable<InstancePlacement> instances, IReadOnlyList<string> notes)
    {
        var merged = instances
            .GroupBy(i => (i.Kind, i.Device))
            .Select(same => new InstancePlacement(same.Key.Kind, same.Key.Device, same.Sum(i => i.Count)))
            .ToList();
        return new ModelPlacement(merged, notes);
    }

    /// <summary>The version's status reason while it serves: null when every instance runs where it was asked to.</summary>
    public string? Reason => Notes.Count == 0 ? null : string.Join("; ", Notes);

    /// <summary>Every instance where its group asks, for backends that either place it there or fail the load.</summary>
    public static ModelPlacement AsConfigured(ModelConfig config)
    {
        var instances = new List<InstancePlacement>();
        foreach (var group in InstanceGroups.Of(config))
        {
            if (InstanceGroups.IsGpu(group))
            {
                foreach (var gpu in InstanceGroups.Gpus(group))
                {
                    instances.Add(new InstancePlacement(InstancePlacement.Gpu, InstancePlacement.GpuDevice(gpu), group.Count));
                }
            }
            else
            {
                instances.Add(new InstancePlacement(InstancePlacement.Cpu, InstancePlacement.Cpu, group.Count));
            }
        }
        return Of(instances, []);
    }
}

/// <param name="Kind">What the instance group asked for: "cpu" or "gpu".</param>
/// <param name="Device">Where its instances run: "cpu" or "gpu:N".</param>
/// <param name="Count">Instances on that device.</param>
internal sealed record InstancePlacement(string Kind, string Device, int Count)
{
    public const string Cpu = "cpu";
    public const string Gpu = "gpu";

    public static string GpuDevice(int id) => $"gpu:{id}";
}

/// <summary>How a config's <c>instance_group</c> reads, as Triton reads it.</summary>
internal static class InstanceGroups
{
    /// <summary>The groups to open; a config without any gets one CPU instance.</summary>
    public static IReadOnlyList<InstanceGroupConfig> Of(ModelConfig config) =>
        config.InstanceGroup.Count > 0 ? config.InstanceGroup : [new InstanceGroupConfig()];

    public static bool IsGpu(InstanceGroupConfig group) =>
        string.Equals(group.Kind, InstancePlacement.Gpu, StringComparison.OrdinalIgnoreCase);

    /// <summary>A gpu group places <c>count</c> instances on each listed GPU; none listed means GPU 0.</summary>
    public static IReadOnlyList<int> Gpus(InstanceGroupConfig group) => group.Gpus.Count > 0 ? group.Gpus : [0];
}
