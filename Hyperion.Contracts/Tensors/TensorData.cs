using System.Buffers;
using System.Buffers.Binary;

namespace Hyperion.Contracts.Tensors;

/// <summary>
/// One named tensor as raw little-endian, row-major bytes in a pooled buffer: the form the binary
/// extension and gRPC's raw contents carry, so decoding and batching copy bytes, never boxed values.
/// BYTES tensors use Triton's serialisation: each element is a 4-byte little-endian length followed by its bytes.
/// </summary>
public sealed class TensorData : IDisposable
{
    private byte[]? _buffer;
    private readonly bool _pooled;

    private TensorData(string name, TensorDataType dataType, long[] shape, byte[] buffer, int length, bool pooled)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        _buffer = buffer;
        Length = length;
        _pooled = pooled;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    /// <summary>Number of valid bytes in <see cref="Span"/>.</summary>
    public int Length { get; }

    public long ElementCount => ElementCountOf(Shape);

    public Span<byte> Span => Buffer.AsSpan(0, Length);

    public Memory<byte> Memory => Buffer.AsMemory(0, Length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(TensorData), $"tensor '{Name}' was already released");

    /// <summary>A tensor whose bytes live in a buffer rented from the shared pool; dispose returns it.</summary>
    public static TensorData Rent(string name, TensorDataType dataType, long[] shape, int byteLength) =>
        new(name, dataType, shape, ArrayPool<byte>.Shared.Rent(Math.Max(byteLength, 1)), byteLength, pooled: true);

    /// <summary>
    /// A tensor that takes over a buffer the caller rented from <see cref="ArrayPool{T}.Shared"/>; dispose returns it.
    /// Lets a decoder that cannot know the size up front (BYTES) grow its own buffer and hand it over without a copy.
    /// </summary>
    public static TensorData FromRented(string name, TensorDataType dataType, long[] shape, byte[] rentedBuffer, int length) =>
        new(name, dataType, shape, rentedBuffer, length, pooled: true);

    /// <summary>A tensor over a buffer the caller owns (not returned to the pool).</summary>
    public static TensorData Wrap(string name, TensorDataType dataType, long[] shape, byte[] buffer, int length) =>
        new(name, dataType, shape, buffer, length, pooled: false);

    public static long ElementCountOf(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count *= dim;
        }
        return count;
    }

    /// <summary>Counts the elements of a BYTES payload, or -1 when a length prefix runs past the end.</summary>
    public static long CountByteElements(ReadOnlySpan<byte> raw)
    {
        long count = 0;
        while (!raw.IsEmpty)
        {
            if (raw.Length < 4)
            {
                return -1;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(raw);
            if (length > (uint)(raw.Length - 4))
            {
                return -1;
            }
            raw = raw[(4 + (int)length)..];
            count++;
        }
        return count;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
