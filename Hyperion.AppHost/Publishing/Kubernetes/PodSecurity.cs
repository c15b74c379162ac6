using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// The Pod Security Standard "restricted" for every pod: non-root, no privilege escalation, no capabilities,
/// the runtime's seccomp profile, and a read-only root filesystem with volumes where files are written.
/// </summary>
internal static class PodSecurity
{
    /// <summary>The "app" user of the mcr.microsoft.com/dotnet images, which the Dockerfiles run as.</summary>
    public const long DotNetAppUserId = 1654;

    public const string TempVolume = "tmp";
    public const string StateVolume = "state";

    public static V1PodSecurityContext Pod(long userId) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = userId,
        RunAsGroup = userId,
        FsGroup = userId, // volumes are writable by the user
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    public static V1SecurityContext Container() => new()
    {
        RunAsNonRoot = true,
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
    };

    public static V1Volume EmptyDir(string name, string sizeLimit) => new()
    {
        Name = name,
        EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(sizeLimit) },
    };

    public static V1VolumeMount Mount(string volume, string path) => new() { Name = volume, MountPath = path };
}
