using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hyperion.Gateway.Caching;

/// <summary>
/// The cache key's body part: SHA-256 over the JSON's tokens (so whitespace does not matter) without the top-level
/// <c>"id"</c> (so two clients asking the same thing under different request ids share the answer), followed by
/// the raw tensor bytes of Triton's binary extension. Key order is kept: clients serialize consistently, and
/// reordering would cost a parse into objects on every request.
/// </summary>
internal static class CanonicalRequestHash
{
    /// <summary>False when the JSON part is not valid JSON (the replica explains that, uncached).</summary>
    public static bool TryCompute(ReadOnlySpan<byte> body, int jsonLength, IncrementalHash hash, out string? requestId)
    {
        requestId = null;
        var json = jsonLength >= 0 && jsonLength <= body.Length ? body[..jsonLength] : body;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        Span<byte> tokenType = stackalloc byte[1];
        var scratch = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    requestId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                    continue;
                }
                tokenType[0] = (byte)reader.TokenType;
                hash.AppendData(tokenType);
                if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String)
                {
                    if (reader.ValueIsEscaped)
                    {
                        var text = reader.GetString()!;
                        if (Encoding.UTF8.GetMaxByteCount(text.Length) > scratch.Length)
                        {
                            ArrayPool<byte>.Shared.Return(scratch);
                            scratch = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
                        }
                        hash.AppendData(scratch, 0, Encoding.UTF8.GetBytes(text, scratch));
                    }
                    else
                    {
                        hash.AppendData(reader.ValueSpan);
                    }
                    tokenType[0] = 0; // a separator, so "ab","c" and "a","bc" differ
                    hash.AppendData(tokenType);
                }
                else if (reader.TokenType == JsonTokenType.Number)
                {
                    hash.AppendData(reader.ValueSpan);
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        if (jsonLength >= 0 && jsonLength <= body.Length)
        {
            hash.AppendData(body[jsonLength..]);
        }
        return true;
    }
}
