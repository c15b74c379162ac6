using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Codecs.Json;
using Hyperion.Contracts.Tensors;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Scores one chunk: decodes its lines, packs consecutive good lines of one shape into batches of the model's
/// <c>max_batch_size</c>, sends up to <see cref="JobsOptions.BatchesInFlight"/> at once (each to the next replica that
/// serves the version, or the next gateway), and writes one result line per input line, in input order. A line that
/// cannot be decoded, or that the model refuses, fails alone (a refused batch is sent again line by line to find it);
/// a batch nobody answers is sent again, and when it keeps failing, the chunk is given back (<see cref="TargetUnavailableException"/>).
/// </summary>
internal sealed class ChunkScorer(IOptions<JobsOptions> options)
{
    private const int AttemptsPerBatch = 3;

    // Result lines are data for programs, not HTML: "it's" stays readable.
    private static readonly JsonWriterOptions s_lineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="send">Sends one batch (to the next replica or gateway) and says how it went.</param>
    /// <param name="finalAttempt">Whether a batch that nobody will take fails its lines instead of giving the chunk back.</param>
    public async Task<ChunkResult> ScoreAsync(
        ReadOnlyMemory<byte> input, long firstLine, JobTarget target, BatchSender send, bool finalAttempt, CancellationToken cancellationToken)
    {
        var segments = Cut(input, firstLine, target);
        try
        {
            using var gate = new SemaphoreSlim(options.Value.BatchesInFlight);
            var work = new List<Task>(segments.Count);
            foreach (var segment in segments)
            {
                if (segment.Inputs is null)
                {
                    continue;
                }
                await gate.WaitAsync(cancellationToken);
                work.Add(ScoreSegmentAsync(segment, target, send, finalAttempt, gate, cancellationToken));
            }
            await Task.WhenAll(work);

            var results = new PooledBufferWriter(64 * 1024);
            int succeeded = 0, failed = 0;
            string? firstError = null;
            foreach (var segment in segments)
            {
                segment.WriteTo(results);
                succeeded += segment.Succeeded;
                failed += segment.Failed;
                firstError ??= segment.FirstError;
            }
            return new ChunkResult(results, succeeded, failed, firstError);
        }
        finally
        {
            foreach (var segment in segments)
            {
                segment.Dispose();
            }
        }
    }

    /// <summary>Lines in order: runs of good lines as batches, each bad line as a segment of its own with its error written.</summary>
    private static List<Segment> Cut(ReadOnlyMemory<byte> input, long firstLine, JobTarget target)
    {
        var segments = new List<Segment>();
        var maxBatch = Math.Max(target.MaxBatchSize, 1);
        BatchBuilder? batch = null;
        var line = firstLine;
        var rest = input.Span;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'\n');
            var text = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            var tensors = InstanceDecoder.Decode(text, target, out var error);
            if (tensors is null)
            {
                Flush(ref batch, segments, target);
                var failedLine = new Segment(line, 1, null);
                failedLine.Fail(line, error!);
                segments.Add(failedLine);
            }
            else
            {
                if (batch is not null && (batch.Count == maxBatch || !batch.Fits(tensors)))
                {
                    Flush(ref batch, segments, target);
                }
                batch ??= new BatchBuilder(line, target);
                batch.Add(tensors);
            }
            line++;
        }
        Flush(ref batch, segments, target);
        return segments;
    }

    private static void Flush(ref BatchBuilder? batch, List<Segment> segments, JobTarget target)
    {
        if (batch is not null)
        {
            segments.Add(new Segment(batch.FirstLine, batch.Count, batch.Build(target.MaxBatchSize > 0)));
            batch = null;
        }
    }

    private static async Task ScoreSegmentAsync(
        Segment segment, JobTarget target, BatchSender send, bool finalAttempt, SemaphoreSlim gate, CancellationToken cancellationToken)
    {
        try
        {
            await ScoreBatchAsync(segment, segment.FirstLine, segment.Count, segment.Inputs!, target, send, finalAttempt, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task ScoreBatchAsync(
        Segment segment, long firstLine, int count, TensorData[] inputs, JobTarget target, BatchSender send, bool finalAttempt, CancellationToken cancellationToken)
    {
        var named = new (string, TensorData)[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            named[i] = (target.Inputs[i].Name, inputs[i]);
        }
        BatchAnswer? answer = null;
        for (var attempt = 0; attempt < AttemptsPerBatch; attempt++)
        {
            answer = await send(named, cancellationToken);
            if (answer.Status == 200 || answer.IsRequestError)
            {
                break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancellationToken);
        }
        if (answer!.Status == 200)
        {
            using var outputs = new DisposableList(answer.Outputs!);
            if (!segment.WriteOutputs(firstLine, count, answer.Outputs!, target.MaxBatchSize > 0, out var mismatch))
            {
                segment.FailAll(firstLine, count, mismatch!);
            }
            return;
        }
        if (answer.IsRequestError && count > 1)
        {
            // One line spoiled the batch: find it by sending each line alone.
            for (var row = 0; row < count; row++)
            {
                var single = new TensorData[inputs.Length];
                try
                {
                    for (var i = 0; i < inputs.Length; i++)
                    {
                        single[i] = RowOf(inputs[i], row, count);
                    }
                    await ScoreBatchAsync(segment, firstLine + row, 1, single, target, send, finalAttempt, cancellationToken);
                }
                finally
                {
                    foreach (var tensor in single)
                    {
                        tensor?.Dispose();
                    }
                }
            }
            return;
        }
        if (answer.IsRequestError || finalAttempt)
        {
            segment.FailAll(firstLine, count, answer.Error!);
            return;
        }
        throw new TargetUnavailableException(answer.Error!);
    }

    /// <summary>Row <paramref name="row"/> of a batch tensor, as a batch of one.</summary>
    private static TensorData RowOf(TensorData batch, int row, int rows)
    {
        var shape = (long[])batch.Shape.Clone();
        shape[0] = 1;
        var (start, length) = RowBytes(batch, row, rows);
        return RawTensorCodec.Copy(batch.Name, batch.DataType, shape, batch.Span.Slice(start, length));
    }

    /// <summary>Where row <paramref name="row"/> of <paramref name="rows"/> lies in a batch tensor's bytes (BYTES elements are length-prefixed).</summary>
    private static (int Start, int Length) RowBytes(TensorData batch, int row, int rows)
    {
        if (batch.DataType != TensorDataType.Bytes)
        {
            var size = batch.Length / rows;
            return (row * size, size);
        }
        var perRow = batch.ElementCount / rows;
        var raw = batch.Span;
        var offset = 0;
        var start = 0;
        for (long element = 0; element < perRow * (row + 1); element++)
        {
            if (element == perRow * row)
            {
                start = offset;
            }
            offset += 4 + BitConverter.ToInt32(raw.Slice(offset, 4));
        }
        return (start, offset - start);
    }

    /// <summary>A run of lines: one batch, or one line that failed before it was sent; its result lines once scored.</summary>
    private sealed class Segment(long firstLine, int count, TensorData[]? inputs) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly SortedDictionary<long, byte[]> _lines = [];

        public long FirstLine { get; } = firstLine;
        public int Count { get; } = count;
        public TensorData[]? Inputs { get; } = inputs;
        public int Succeeded { get; private set; }
        public int Failed { get; private set; }
        public string? FirstError { get; private set; }

        /// <summary>Appends the result lines in line order (lines split out of a refused batch may finish in any order).</summary>
        public void WriteTo(PooledBufferWriter results)
        {
            foreach (var (_, bytes) in _lines)
            {
                results.Write(bytes);
            }
        }

        public void Fail(long line, string error) => FailAll(line, 1, error);

        public void FailAll(long firstLine, int count, string error)
        {
            for (var row = 0; row < count; row++)
            {
                var buffer = new ArrayBufferWriter<byte>(64 + error.Length);
                using (var writer = new Utf8JsonWriter(buffer, s_lineOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("line"u8, firstLine + row);
                    writer.WriteString("error"u8, error);
                    writer.WriteEndObject();
                }
                Add(firstLine + row, buffer, succeeded: false, error);
            }
        }

        /// <summary>Writes each row's outputs without the batch dimension; false when an output does not have one row per line.</summary>
        public bool WriteOutputs(long firstLine, int count, List<TensorData> outputs, bool batched, out string? mismatch)
        {
            mismatch = null;
            foreach (var output in outputs)
            {
                if (batched && (output.Shape.Length == 0 || output.Shape[0] != count))
                {
                    mismatch = $"output '{output.Name}' has shape {JsonTensorDataReader.FormatShape(output.Shape)}, not one row per line ({count})";
                    return false;
                }
            }
            var offsets = new int[outputs.Count];
            for (var row = 0; row < count; row++)
            {
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var writer = new Utf8JsonWriter(buffer, s_lineOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("line"u8, firstLine + row);
                    writer.WriteStartObject("outputs"u8);
                    for (var i = 0; i < outputs.Count; i++)
                    {
                        var output = outputs[i];
                        writer.WritePropertyName(output.Name);
                        JsonTensorDataWriter.WriteNested(writer, output.DataType, output.Span, batched ? output.Shape.AsSpan(1) : output.Shape, ref offsets[i]);
                    }
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }
                Add(firstLine + row, buffer, succeeded: true, null);
            }
            return true;
        }

        private void Add(long line, ArrayBufferWriter<byte> json, bool succeeded, string? error)
        {
            var bytes = new byte[json.WrittenCount + 1];
            json.WrittenSpan.CopyTo(bytes);
            bytes[^1] = (byte)'\n';
            lock (_gate)
            {
                _lines[line] = bytes;
                if (succeeded)
                {
                    Succeeded++;
                }
                else
                {
                    Failed++;
                    FirstError ??= $"line {line}: {error}";
                }
            }
        }

        public void Dispose()
        {
            foreach (var tensor in Inputs ?? [])
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Consecutive good lines of one shape, appended into one pooled buffer per input.</summary>
    private sealed class BatchBuilder(long firstLine, JobTarget target)
    {
        private readonly PooledBufferWriter[] _buffers = [.. target.Inputs.Select(_ => new PooledBufferWriter(4096))];
        private long[][]? _rowShapes;

        public long FirstLine { get; } = firstLine;
        public int Count { get; private set; }

        public bool Fits(TensorData[] tensors)
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                if (!tensors[i].Shape.AsSpan().SequenceEqual(_rowShapes![i]))
                {
                    return false;
                }
            }
            return true;
        }

        public void Add(TensorData[] tensors)
        {
            _rowShapes ??= [.. tensors.Select(tensor => tensor.Shape)];
            for (var i = 0; i < tensors.Length; i++)
            {
                _buffers[i].Write(tensors[i].Span);
                tensors[i].Dispose();
            }
            Count++;
        }

        /// <summary>The batch's tensors, [count, ...dims] (or the one line's dims when the model takes no batch dimension).</summary>
        public TensorData[] Build(bool batched)
        {
            var tensors = new TensorData[_buffers.Length];
            for (var i = 0; i < _buffers.Length; i++)
            {
                long[] shape = batched ? [Count, .. _rowShapes![i]] : _rowShapes![i];
                tensors[i] = _buffers[i].DetachAsTensor(target.Inputs[i].Name, target.Inputs[i].DataType, shape);
            }
            return tensors;
        }
    }

    private sealed class DisposableList(List<TensorData> tensors) : IDisposable
    {
        public void Dispose()
        {
            foreach (var tensor in tensors)
            {
                tensor.Dispose();
            }
        }
    }
}

/// <summary>A chunk's result lines (the caller disposes them) and its counts.</summary>
internal sealed record ChunkResult(PooledBufferWriter Lines, int Succeeded, int Failed, string? FirstError) : IDisposable
{
    public void Dispose() => Lines.Dispose();
}

/// <summary>Sends one batch's named tensors and answers how it went.</summary>
internal delegate Task<BatchAnswer> BatchSender(IReadOnlyList<(string Input, TensorData Tensor)> inputs, CancellationToken cancellationToken);

/// <summary>No replica would score a batch: the chunk goes back to be taken again later.</summary>
internal sealed class TargetUnavailableException(string reason) : Exception(reason);
