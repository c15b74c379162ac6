using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>What resources need from the host while they are prepared and launched.</summary>
public sealed class HostingContext
{
    internal HostingContext(HostingOptions options, IConfiguration configuration, ILoggerFactory loggerFactory, bool isPublishMode = false)
    {
        IsPublishMode = isPublishMode;
        Options = options;
        Configuration = configuration;
        LoggerFactory = loggerFactory;
        StateDirectory = Path.GetFullPath(options.StateDirectory);
        Executables = new ExecutableLocator(options);
        Secrets = new SecretStore(Path.Combine(StateDirectory, "secrets.json"));
    }

    public HostingOptions Options { get; }

    /// <summary>The graph is being published, not run: no ports, no secrets, paths are the containers' (Aspire's IsPublishMode).</summary>
    public bool IsPublishMode { get; }

    public IConfiguration Configuration { get; }

    internal ILoggerFactory LoggerFactory { get; }

    /// <summary>Absolute path of the state directory.</summary>
    public string StateDirectory { get; }

    internal ExecutableLocator Executables { get; }

    internal SecretStore Secrets { get; }

    /// <summary>Root runs PostgreSQL as the postgres system user, because PostgreSQL refuses to run as root.</summary>
    public static bool IsRoot { get; } = NativeMethods.geteuid() == 0;

    public string GetResourceDirectory(string resourceName) => Path.Combine(StateDirectory, resourceName);
}
