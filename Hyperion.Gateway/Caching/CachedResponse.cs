using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Hyperion.Gateway.Caching;

/// <summary>
/// A cached answer as stored in Redis: <c>[1][content-type length: u16][content-type][inference header length: i32, -1 none][body]</c>.
/// Only 200 answers are stored.
/// </summary>
internal static class CachedResponse
{
    private const byte FormatVersion = 1;

    public static byte[] Encode(string contentType, int inferenceHeaderLength, ReadOnlySpan<byte> body)
    {
        var typeLength = Encoding.UTF8.GetByteCount(contentType);
        var result = new byte[1 + 2 + typeLength + 4 + body.Length];
        result[0] = FormatVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(1), (ushort)typeLength);
        Encoding.UTF8.GetBytes(contentType, result.AsSpan(3));
        BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(3 + typeLength), inferenceHeaderLength);
        body.CopyTo(result.AsSpan(7 + typeLength));
        return result;
    }

    public static bool TryDecode(ReadOnlyMemory<byte> stored, out string contentType, out int inferenceHeaderLength, out ReadOnlyMemory<byte> body)
    {
        contentType = "";
        inferenceHeaderLength = -1;
        body = default;
        var span = stored.Span;
        if (span.Length < 7 || span[0] != FormatVersion)
        {
            return false;
        }
        var typeLength = BinaryPrimitives.ReadUInt16LittleEndian(span[1..]);
        if (span.Length < 7 + typeLength)
        {
            return false;
        }
        contentType = Encoding.UTF8.GetString(span.Slice(3, typeLength));
        inferenceHeaderLength = BinaryPrimitives.ReadInt32LittleEndian(span[(3 + typeLength)..]);
        body = stored[(7 + typeLength)..];
        return true;
    }

    /// <summary>A JSON answer with its top-level <c>"id"</c> set to <paramref name="id"/> (removed when null): the id the asker sent.</summary>
    public static byte[] WithId(ReadOnlyMemory<byte> json, string? id)
    {
        using var document = JsonDocument.Parse(json);
        using var output = new MemoryStream(json.Length + 64);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("id"u8))
                {
                    continue;
                }
                property.WriteTo(writer);
                if (property.NameEquals("model_version"u8) && id is not null)
                {
                    writer.WriteString("id"u8, id);
                }
            }
            writer.WriteEndObject();
        }
        return output.ToArray();
    }
}
