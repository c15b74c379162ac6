namespace Hyperion.AppHost.LocalServices;

/// <summary>What the local backing services share while the graph is declared: where state lives, its secrets, and what the machine lacks.</summary>
internal sealed class LocalServiceContext(string stateDirectory)
{
    public string StateDirectory { get; } = stateDirectory;

    public StateSecrets Secrets { get; } = new(Path.Combine(stateDirectory, "secrets.json"));

    public List<Prerequisite> Missing { get; } = [];

    /// <summary>Root runs PostgreSQL as the postgres system user, because PostgreSQL refuses to run as root.</summary>
    public static bool IsRoot { get; } = Environment.UserName == "root";
}
