namespace Hyperion.Gateway.Buffers;

/// <summary>
/// Passes a response through to the client unchanged while keeping a copy of its first <c>limit</c> bytes in a pooled
/// buffer (for the response cache and shadow comparisons). <see cref="Complete"/> is false once it overflowed.
/// </summary>
internal sealed class CapturingWriteStream(Stream inner, int limit) : Stream
{
    private readonly PooledCapture _capture = new(limit);

    public bool Complete => _capture.Complete;

    public ReadOnlySpan<byte> Captured => _capture.Captured;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Keep(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Keep(ReadOnlySpan<byte> data) => _capture.Keep(data);

    protected override void Dispose(bool disposing)
    {
        _capture.Dispose();
        base.Dispose(disposing);
    }
}
