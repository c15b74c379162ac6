using System.Diagnostics.CodeAnalysis;

namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>Artifact digests as the registry writes them: <c>sha256:</c> followed by 64 lowercase hex digits.</summary>
internal static class ArtifactDigest
{
    public const string Prefix = "sha256:";

    public const string Expected = "sha256:<64 lowercase hex digits>";

    private const int HexLength = 64;

    public static string FromHash(ReadOnlySpan<byte> sha256) => Prefix + Convert.ToHexStringLower(sha256);

    /// <summary>Whether <paramref name="digest"/> is well formed; <paramref name="hex"/> is its hex part.</summary>
    public static bool TryParse([NotNullWhen(true)] string? digest, [NotNullWhen(true)] out string? hex)
    {
        hex = null;
        if (digest is null || digest.Length != Prefix.Length + HexLength || !digest.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in digest.AsSpan(Prefix.Length))
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }
        hex = digest[Prefix.Length..];
        return true;
    }

    /// <summary>The digest in an HTTP <c>Digest</c> header (RFC 3230: <c>sha-256=&lt;base64&gt;</c>).</summary>
    public static string ToDigestHeader(string hex) => "sha-256=" + Convert.ToBase64String(Convert.FromHexString(hex));
}
