using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Hyperion.Gateway.Routing;

/// <summary>gRPC's length-prefixed message, and a unary answer the gateway writes itself: one message, then <c>grpc-status: 0</c> in the trailers.</summary>
internal static class GrpcFrame
{
    /// <summary>The compressed flag (1 byte) and the message length (4 bytes, big-endian).</summary>
    public const int HeaderLength = 5;

    public static async Task WriteAsync(HttpResponse response, IMessage message, CancellationToken cancellationToken)
    {
        var size = message.CalculateSize();
        var frame = ArrayPool<byte>.Shared.Rent(HeaderLength + size);
        try
        {
            frame[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
            message.WriteTo(frame.AsSpan(HeaderLength, size));
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            await response.Body.WriteAsync(frame.AsMemory(0, HeaderLength + size), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
        response.AppendTrailer("grpc-status", "0");
    }
}
