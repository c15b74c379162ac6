using System.Text;

namespace Hyperion.AppHost.LocalServices;

/// <summary>A binary or system user the local graph needs, and the Debian package that brings it.</summary>
internal sealed record Prerequisite(string Resource, string What, string Problem, string AptPackage);

/// <summary>
/// Collects what is missing while the graph is declared and stops start-up with one message that names every
/// missing piece and the apt command that installs them all, before DCP starts anything.
/// </summary>
internal static class MissingPrerequisites
{
    public static void ThrowIfAny(IReadOnlyList<Prerequisite> missing)
    {
        if (missing.Count == 0)
        {
            return;
        }
        var message = new StringBuilder("Hyperion cannot start: prerequisites are missing.\n");
        foreach (var item in missing)
        {
            message.Append($"  - {item.What} (needed by '{item.Resource}'): {item.Problem}\n");
        }
        message.Append($"Install them with:\n  sudo apt-get install -y {string.Join(' ', missing.Select(m => m.AptPackage).Distinct())}");
        throw new InvalidOperationException(message.ToString());
    }
}
