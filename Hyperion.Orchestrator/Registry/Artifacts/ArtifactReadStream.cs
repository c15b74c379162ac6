using System.Security.Cryptography;

namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>
/// A blob's bytes, hashed as they are read. The read that would hand out the last bytes first checks the digest
/// and throws <see cref="ArtifactCorruptedException"/> on a mismatch, so a consumer never receives a complete
/// copy of damaged bytes: an HTTP response stops short of its Content-Length and the client sees the failure.
/// </summary>
internal sealed class ArtifactReadStream : Stream
{
    private readonly Stream _inner;
    private readonly string _expectedHex;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly long _length;
    private long _remaining;
    private bool _verified;

    public ArtifactReadStream(Stream inner, long length, string expectedHex)
    {
        _inner = inner;
        _length = length;
        _remaining = length;
        _expectedHex = expectedHex;
    }

    public string Digest => ArtifactDigest.Prefix + _expectedHex;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _length - _remaining;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }
        if (_remaining == 0)
        {
            Verify();
            return 0;
        }
        var read = _inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        return Account(buffer[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }
        if (_remaining == 0)
        {
            Verify();
            return 0;
        }
        var read = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        return Account(buffer.Span[..read]);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync();
        _hash.Dispose();
        await base.DisposeAsync();
    }

    private int Account(ReadOnlySpan<byte> read)
    {
        if (read.Length == 0)
        {
            throw new ArtifactCorruptedException(Digest, $"the file ended {_remaining} bytes early");
        }
        _hash.AppendData(read);
        _remaining -= read.Length;
        if (_remaining == 0)
        {
            // Before these last bytes are handed out.
            Verify();
        }
        return read.Length;
    }

    private void Verify()
    {
        if (_verified)
        {
            return;
        }
        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        _hash.GetHashAndReset(actual);
        var actualHex = Convert.ToHexStringLower(actual);
        if (!string.Equals(actualHex, _expectedHex, StringComparison.Ordinal))
        {
            throw new ArtifactCorruptedException(Digest, $"its bytes hash to {ArtifactDigest.Prefix}{actualHex}");
        }
        _verified = true;
    }
}
