using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// API keys are <c>hyp_</c> followed by 32 random bytes in base62. Only <see cref="Hash"/> and
/// <see cref="PrefixOf"/> are ever stored; the key itself is shown once.
/// </summary>
public static class ApiKeyFormat
{
    public const string Marker = "hyp_";

    /// <summary>Enough of a key to tell keys apart in lists and logs; reveals 8 base62 characters of the secret.</summary>
    public const int PrefixLength = 12;

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // 32 bytes = 256 bits; 43 base62 digits carry 256.03 bits, so every value fits.
    private const int EncodedLength = 43;

    public static string Generate()
    {
        Span<byte> secret = stackalloc byte[32];
        RandomNumberGenerator.Fill(secret);
        return Marker + Base62(secret);
    }

    /// <summary>Whether <paramref name="candidate"/> has the shape of a key (it may still be unknown or revoked).</summary>
    public static bool LooksLikeKey(ReadOnlySpan<char> candidate)
    {
        if (!candidate.StartsWith(Marker, StringComparison.Ordinal) || candidate.Length != Marker.Length + EncodedLength)
        {
            return false;
        }
        foreach (var c in candidate[Marker.Length..])
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string HashHex(string key) => Convert.ToHexStringLower(Hash(key));

    public static string PrefixOf(string key) => key.Length <= PrefixLength ? key : key[..PrefixLength];

    private static string Base62(ReadOnlySpan<byte> bytes)
    {
        // Repeated division of the big-endian number by 62; 32 bytes is small enough that this stays cheap.
        Span<byte> number = stackalloc byte[bytes.Length];
        bytes.CopyTo(number);
        Span<char> digits = stackalloc char[EncodedLength];
        for (var position = EncodedLength - 1; position >= 0; position--)
        {
            var remainder = 0;
            for (var i = 0; i < number.Length; i++)
            {
                var accumulator = (remainder << 8) | number[i];
                number[i] = (byte)(accumulator / 62);
                remainder = accumulator % 62;
            }
            digits[position] = Alphabet[remainder];
        }
        return new string(digits);
    }
}
