using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>How a builder is created: command-line arguments, and settings that override every other source (tests).</summary>
public sealed class DistributedApplicationOptions
{
    public string[] Args { get; init; } = [];

    public IDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Where the AppHost's own messages go; the console when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Declares the graph to write it out (aspire-manifest.json, Kubernetes), not to run it: environment
    /// callbacks see <see cref="HostingContext.IsPublishMode"/> and build values from manifest expressions.
    /// </summary>
    public bool IsPublishMode { get; init; }
}
