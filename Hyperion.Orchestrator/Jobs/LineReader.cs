using System.Buffers;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Reads a stream line by line as bytes (no decoding: a JSONL line is parsed as UTF-8 JSON later), with a bound on a
/// line's length. A line ends at '\n'; a '\r' before it and a final line without one are handled.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxLineBytes + 1, 64 * 1024));
    private int _start;
    private int _end;
    private bool _eof;

    /// <summary>Lines read so far, blank ones included: the file's line number of the last line returned.</summary>
    public long FileLine { get; private set; }

    /// <summary>The next line without its end, valid until the next call; null at the end of the stream.</summary>
    /// <exception cref="LineTooLongException">A line is longer than the bound.</exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = scanned + newline;
                var line = _buffer.AsMemory(_start, length);
                _start += length + 1;
                FileLine++;
                return TrimCarriageReturn(line);
            }
            scanned = _end - _start;
            if (scanned > maxLineBytes)
            {
                throw new LineTooLongException(FileLine + 1, maxLineBytes);
            }
            if (_eof)
            {
                if (_end == _start)
                {
                    return null;
                }
                var last = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                FileLine++;
                return TrimCarriageReturn(last);
            }
            await FillAsync(cancellationToken);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxLineBytes + 1 + 64 * 1024));
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            _eof = true;
        }
        _end += read;
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(Memory<byte> line) =>
        line.Length > 0 && line.Span[^1] == (byte)'\r' ? line[..^1] : line;

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}

internal sealed class LineTooLongException(long fileLine, int maxLineBytes)
    : Exception($"line {fileLine} of the input is longer than {JobsOptions.SectionName}:MaxLineBytes ({maxLineBytes} bytes)")
{
    public long FileLine { get; } = fileLine;
}
