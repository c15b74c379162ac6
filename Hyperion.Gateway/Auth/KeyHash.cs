using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Gateway.Auth;

/// <summary>SHA-256 of an API key as a value: a dictionary key without a hex string per request.</summary>
internal readonly record struct KeyHash(UInt128 High, UInt128 Low)
{
    public static KeyHash Of(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[128];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8[..length], hash);
        return new KeyHash(BinaryPrimitives.ReadUInt128BigEndian(hash), BinaryPrimitives.ReadUInt128BigEndian(hash[16..]));
    }

    /// <summary>Parses the lowercase (or uppercase) hex of a revocation notice.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> hex, out KeyHash hash)
    {
        hash = default;
        Span<byte> bytes = stackalloc byte[32];
        if (hex.Length != 64 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }
        hash = new KeyHash(BinaryPrimitives.ReadUInt128BigEndian(bytes), BinaryPrimitives.ReadUInt128BigEndian(bytes[16..]));
        return true;
    }

    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[32];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, High);
        BinaryPrimitives.WriteUInt128BigEndian(bytes[16..], Low);
        return Convert.ToHexStringLower(bytes);
    }
}
