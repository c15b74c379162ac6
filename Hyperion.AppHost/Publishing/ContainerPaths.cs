namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Where the services' containers keep files. The root filesystem is read-only; these are volumes.
/// Publishing declares the graph with <see cref="State"/> as its state directory, so every path the graph
/// derives from it (admin key, artifacts, model repository) lands on the state volume.
/// </summary>
internal static class ContainerPaths
{
    public const string State = "/var/lib/hyperion";

    public const string Temp = "/tmp";
}
