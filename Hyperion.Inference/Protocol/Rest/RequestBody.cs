using System.Buffers;
using System.IO.Pipelines;
using Hyperion.Contracts.Inference;

namespace Hyperion.Inference.Protocol.Rest;

/// <summary>A request body read whole into one pooled buffer, so the decoders work on a single span.</summary>
internal readonly struct RequestBody(byte[] buffer, int length) : IDisposable
{
    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);

    public int Length => length;

    /// <summary>
    /// Reads the body through the request's <see cref="PipeReader"/>, consuming as it copies so Kestrel keeps
    /// reading; refuses (413) a body over <paramref name="limit"/> before renting for it.
    /// </summary>
    public static async ValueTask<RequestBody> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            throw TooLarge(declared.Value, limit);
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(declared ?? 4096, 16));
        var length = 0;
        try
        {
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    reader.AdvanceTo(sequence.End);
                    throw TooLarge(length + sequence.Length, limit);
                }
                if (length + sequence.Length > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(buffer.Length * 2L, length + sequence.Length), limit));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                // With a Content-Length the whole body is here once that many bytes are: no extra read to see the end.
                if (result.IsCompleted || length == declared)
                {
                    return new RequestBody(buffer, length);
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(length, limit)
                : new InferenceException(InferenceErrorKind.InvalidArgument, $"the request body could not be read: {ex.Message}", ex);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);

    private static InferenceException TooLarge(long size, long limit) =>
        new(InferenceErrorKind.TooLarge, $"the request body is larger than {limit} bytes (at least {size}); the limit is Inference:MaxRequestBodyBytes");
}
