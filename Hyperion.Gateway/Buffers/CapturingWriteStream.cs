namespace Hyperion.Gateway.Buffers;

/// <summary>
/// Passes a response through to the client unchanged while keeping a copy of its first <c>limit</c> bytes in a pooled
/// buffer (for the response cache and shadow comparisons). <see cref="CapturingStream.Complete"/> is false once it overflowed.
/// </summary>
internal sealed class CapturingWriteStream(Stream inner, int limit) : CapturingStream(limit)
{
    public override bool CanRead => false;
    public override bool CanWrite => true;

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

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
}
