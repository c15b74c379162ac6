namespace Hyperion.Gateway.Buffers;

/// <summary>
/// A one-way stream that keeps a copy of what passes through it, up to <c>limit</c> bytes in pooled buffers
/// (<see cref="PooledCapture"/>); <see cref="Complete"/> is false once more went past.
/// </summary>
internal abstract class CapturingStream(int limit) : Stream
{
    private readonly PooledCapture _capture = new(limit);

    public bool Complete => _capture.Complete;

    public ReadOnlySpan<byte> Captured => _capture.Captured;

    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected void Keep(ReadOnlySpan<byte> data) => _capture.Keep(data);

    protected override void Dispose(bool disposing)
    {
        _capture.Dispose();
        base.Dispose(disposing);
    }
}
