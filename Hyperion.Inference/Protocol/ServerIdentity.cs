using System.Reflection;

namespace Hyperion.Inference.Protocol;

/// <summary>What server metadata reports (REST <c>GET /v2</c> and gRPC ServerMetadata).</summary>
internal static class ServerIdentity
{
    public const string Name = "hyperion";

    /// <summary>Triton's extension names for what this server implements beyond the core protocol.</summary>
    public static readonly string[] Extensions = ["binary_tensor_data", "model_repository", "model_configuration"];

    public static string Version { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var informational = typeof(ServerIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return typeof(ServerIdentity).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        }
        // The SDK appends "+<commit>"; the protocol's version is the release.
        var plus = informational.IndexOf('+');
        return plus < 0 ? informational : informational[..plus];
    }
}
