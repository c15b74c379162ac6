namespace Hyperion.Gateway.Buffers;

/// <summary>
/// Hands the request body to the forwarder as it arrives while keeping a copy of it (up to <c>limit</c> bytes, pooled),
/// so a shadow copy can be sent afterwards without holding the primary request up to read the body first.
/// </summary>
internal sealed class CapturingReadStream(Stream inner, int limit) : CapturingStream(limit)
{
    public override bool CanRead => true;
    public override bool CanWrite => false;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Keep(buffer.AsSpan(offset, read));
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Keep(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
