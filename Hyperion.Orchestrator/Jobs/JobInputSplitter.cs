using Hyperion.Contracts.Codecs;
using Hyperion.Orchestrator.Registry.Artifacts;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Cuts a submitted input into chunks of <see cref="JobsOptions.ChunkLines"/> instances (fewer when a chunk would pass
/// <see cref="MaxChunkBytes"/>), each stored as a JSONL blob in the artifact store, as it streams in. Blank lines are
/// skipped: <c>line</c> counts instances. A CSV input becomes the JSONL it stands for (<see cref="CsvInstance"/>).
/// </summary>
internal sealed class JobInputSplitter(IArtifactStore artifacts, IOptions<JobsOptions> options)
{
    /// <summary>A chunk's input is held in memory while it is cut.</summary>
    public const int MaxChunkBytes = 16 << 20;

    /// <param name="csvInput">The model input a CSV row is (null: the input is JSONL).</param>
    /// <exception cref="LineTooLongException">A line is longer than <see cref="JobsOptions.MaxLineBytes"/>.</exception>
    /// <exception cref="ArtifactTooLargeException">More than <see cref="JobsOptions.MaxInputBytes"/> arrived.</exception>
    public async Task<List<NewChunk>> SplitAsync(Stream input, string? csvInput, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var chunks = new List<NewChunk>();
        using var lines = new LineReader(new LimitedStream(input, settings.MaxInputBytes), settings.MaxLineBytes);
        using var chunk = new PooledBufferWriter(64 * 1024);
        var linesInChunk = 0;
        long instances = 0;
        var first = true;
        while (await lines.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Span.Trim(" \t"u8).IsEmpty)
            {
                continue;
            }
            if (csvInput is not null)
            {
                var isHeader = first && !CsvInstance.IsNumeric(line.Span);
                first = false;
                if (isHeader)
                {
                    continue;
                }
                CsvInstance.Write(line.Span, csvInput, chunk);
            }
            else
            {
                chunk.Write(line.Span);
            }
            chunk.Write("\n"u8);
            linesInChunk++;
            instances++;
            if (linesInChunk == settings.ChunkLines || chunk.WrittenCount >= MaxChunkBytes)
            {
                chunks.Add(await StoreAsync(chunk, instances - linesInChunk, linesInChunk, cancellationToken));
                linesInChunk = 0;
            }
        }
        if (linesInChunk > 0)
        {
            chunks.Add(await StoreAsync(chunk, instances - linesInChunk, linesInChunk, cancellationToken));
        }
        return chunks;
    }

    private async Task<NewChunk> StoreAsync(PooledBufferWriter chunk, long firstLine, int lines, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(chunk.WrittenMemory.ToArray(), writable: false);
        var stored = await artifacts.PutAsync(content, MaxChunkBytes * 2L, cancellationToken);
        chunk.Clear();
        return new NewChunk(firstLine, lines, stored.Digest);
    }

    /// <summary>Throws <see cref="ArtifactTooLargeException"/> once more than the limit has been read.</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            _read += read;
            return _read > limit ? throw new ArtifactTooLargeException(limit) : read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
