namespace Hyperion.AppHost.Hosting;

/// <summary>
/// Orders resources so that each comes after what it waits for (and a database after its server),
/// keeping declaration order otherwise. References alone impose no order: services may reference
/// each other, as long as their WaitFor edges form no cycle.
/// </summary>
internal static class GraphOrder
{
    public static IReadOnlyList<IResource> Sort(IReadOnlyList<IResource> resources)
    {
        var ordered = new List<IResource>(resources.Count);
        var state = new Dictionary<IResource, bool>(); // false: being visited, true: done
        foreach (var resource in resources)
        {
            Visit(resource, state, ordered, []);
        }
        return ordered;
    }

    public static IEnumerable<IResource> StartDependencies(IResource resource)
    {
        if (resource is IProvisionedResource provisioned)
        {
            yield return provisioned.Parent;
        }
        if (resource is Resource withDependencies)
        {
            foreach (var dependency in withDependencies.WaitDependencies)
            {
                yield return dependency;
            }
        }
    }

    private static void Visit(IResource resource, Dictionary<IResource, bool> state, List<IResource> ordered, List<IResource> path)
    {
        if (state.TryGetValue(resource, out var done))
        {
            if (!done)
            {
                var cycle = path.SkipWhile(r => r != resource).Append(resource).Select(r => r.Name);
                throw new InvalidOperationException($"WaitFor forms a cycle: {string.Join(" -> ", cycle)}.");
            }
            return;
        }
        state[resource] = false;
        path.Add(resource);
        foreach (var dependency in StartDependencies(resource))
        {
            Visit(dependency, state, ordered, path);
        }
        path.RemoveAt(path.Count - 1);
        state[resource] = true;
        ordered.Add(resource);
    }
}
