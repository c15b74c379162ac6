using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Google.Protobuf;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// The model a gRPC call names lives in its message (<c>model_name</c> = 1, <c>model_version</c> = 2 in ModelInfer,
/// ModelMetadata and ModelReady requests). The gateway reads the one unary message to learn them, and pins a
/// version by appending field 2 (protobuf keeps the last value of a repeated scalar field), so the rest of the
/// message is forwarded byte for byte.
/// </summary>
internal static class GrpcModelMessage
{
    /// <summary>Reads the whole request (one length-prefixed message); null with a reason when it is not one the gateway can read.</summary>
    public static async Task<(byte[]? Message, string? Problem)> ReadAsync(PipeReader reader, long maxBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length > maxBytes + GrpcFrame.HeaderLength)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return (null, $"the message is larger than the gateway's limit of {maxBytes} bytes");
            }
            if (result.IsCompleted)
            {
                var message = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return Validate(message);
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static (byte[]? Message, string? Problem) Validate(byte[] message)
    {
        if (message.Length < GrpcFrame.HeaderLength)
        {
            return (null, "the request has no complete gRPC message");
        }
        if (message[0] != 0)
        {
            return (null, "compressed gRPC messages are not accepted by the gateway; send them uncompressed");
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(1));
        if (length != message.Length - GrpcFrame.HeaderLength)
        {
            return (null, "the request must carry exactly one gRPC message (unary call)");
        }
        return (message, null);
    }

    /// <summary>The last <c>model_name</c> and <c>model_version</c> in the message; null when absent or not parseable.</summary>
    public static (string? Model, string? Version) ReadModel(ReadOnlySpan<byte> frame)
    {
        string? model = null;
        string? version = null;
        try
        {
            var input = new CodedInputStream(frame[GrpcFrame.HeaderLength..].ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (tag)
                {
                    case 10: // field 1, length-delimited
                        model = input.ReadString();
                        break;
                    case 18: // field 2, length-delimited
                        version = input.ReadString();
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
            return (null, null);
        }
        return (model, string.IsNullOrEmpty(version) ? null : version);
    }

    /// <summary>The message with <c>model_version</c> set to <paramref name="version"/> (appended; the frame length follows).</summary>
    public static byte[] WithVersion(ReadOnlySpan<byte> frame, string version)
    {
        var versionLength = Encoding.UTF8.GetByteCount(version);
        var result = new byte[frame.Length + 1 + CodedOutputStream.ComputeLengthSize(versionLength) + versionLength];
        frame.CopyTo(result);
        var position = frame.Length;
        result[position++] = 18; // field 2, length-delimited
        for (var value = (uint)versionLength; ; value >>= 7)
        {
            if (value < 0x80)
            {
                result[position++] = (byte)value;
                break;
            }
            result[position++] = (byte)((value & 0x7F) | 0x80);
        }
        Encoding.UTF8.GetBytes(version, result.AsSpan(position));
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(1), (uint)(result.Length - GrpcFrame.HeaderLength));
        return result;
    }
}
