using System.Buffers;

namespace Hyperion.Gateway.Buffers;

/// <summary>A copy of bytes as they pass, up to a limit, in pooled arrays; once over the limit it keeps nothing more.</summary>
internal sealed class PooledCapture(int limit) : IDisposable
{
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit, 16 * 1024));
    private int _length;

    /// <summary>False once more than the limit went past: the copy is not whole.</summary>
    public bool Complete { get; private set; } = true;

    public ReadOnlySpan<byte> Captured => Complete && _buffer is not null ? _buffer.AsSpan(0, _length) : [];

    public void Keep(ReadOnlySpan<byte> data)
    {
        if (!Complete || _buffer is null || data.IsEmpty)
        {
            return;
        }
        if (_length + data.Length > limit)
        {
            Complete = false;
            return;
        }
        if (_length + data.Length > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit, Math.Max(_buffer.Length * 2, _length + data.Length)));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
