using System.Text;

namespace Hyperion.AppHost.Hosting;

/// <summary>Something the graph needs is not on this machine; the message says what and how to install it.</summary>
public sealed class MissingPrerequisiteException(IReadOnlyList<Prerequisite> missing) : Exception(Format(missing))
{
    public IReadOnlyList<Prerequisite> Missing { get; } = missing;

    private static string Format(IReadOnlyList<Prerequisite> missing)
    {
        var message = new StringBuilder("Hyperion cannot start: prerequisites are missing.\n");
        foreach (var item in missing)
        {
            message.Append($"  - {item.What} (needed by '{item.Resource}'): {item.Problem}\n");
        }
        var packages = missing.Select(m => m.AptPackage).OfType<string>().Distinct().ToArray();
        if (packages.Length > 0)
        {
            message.Append($"Install them with:\n  sudo apt-get install -y {string.Join(' ', packages)}\n");
        }
        foreach (var hint in missing.Select(m => m.Hint).OfType<string>().Distinct())
        {
            message.Append($"{hint}\n");
        }
        return message.ToString().TrimEnd();
    }
}
