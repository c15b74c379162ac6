using System.Buffers.Binary;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Gateway.Pipelines;

/// <summary>
/// Rows of a request as steps with a <c>when</c> see them. A step's rows are the request's row numbers it answered,
/// ascending (null: every row, in which case its outputs are the request's rows as they are). Tensors are copied
/// only when the rows differ: a step that runs for every row is sent its sources' bytes unchanged.
/// </summary>
internal static class RowSelection
{
    /// <summary>The rows both answered; null when both answered every row.</summary>
    public static int[]? Intersect(int[]? a, int[]? b)
    {
        if (a is null || b is null)
        {
            return a ?? b;
        }
        var both = new List<int>(Math.Min(a.Length, b.Length));
        for (int i = 0, j = 0; i < a.Length && j < b.Length;)
        {
            if (a[i] == b[j])
            {
                both.Add(a[i]);
                i++;
                j++;
            }
            else if (a[i] < b[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }
        return [.. both];
    }

    /// <summary>
    /// <paramref name="tensor"/> (whose rows are the request's <paramref name="tensorRows"/>; null: all) cut down to the
    /// request's <paramref name="rows"/>: the tensor itself when that is every row it has (<paramref name="copied"/>
    /// false), else a copy the caller disposes.
    /// </summary>
    public static TensorData Gather(TensorData tensor, int[]? tensorRows, int[] rows, out bool copied)
    {
        var count = RowCount(tensor, tensor.Name);
        var positions = new int[rows.Length];
        var same = rows.Length == count;
        for (var i = 0; i < rows.Length; i++)
        {
            var position = tensorRows is null ? rows[i] : Array.BinarySearch(tensorRows, rows[i]);
            if (position < 0 || position >= count)
            {
                throw new PipelineRowException($"tensor '{tensor.Name}' has {count} rows, but row {rows[i]} of the request is asked of it");
            }
            positions[i] = position;
            same &= position == i;
        }
        copied = !same;
        if (same)
        {
            return tensor;
        }
        var offsets = RowOffsets(tensor, count);
        var length = 0;
        foreach (var position in positions)
        {
            length += offsets[position + 1] - offsets[position];
        }
        var gathered = TensorData.Rent(tensor.Name, tensor.DataType, [positions.Length, .. tensor.Shape.AsSpan(1)], length);
        var to = 0;
        foreach (var position in positions)
        {
            var row = tensor.Span[offsets[position]..offsets[position + 1]];
            row.CopyTo(gathered.Span[to..]);
            to += row.Length;
        }
        return gathered;
    }

    /// <summary>
    /// One output from several steps' tensors: row i of the answer from the first source whose step answered row i.
    /// The last source answered every row (the orchestrator checks it), so it fixes the row count.
    /// </summary>
    public static TensorData Coalesce(string name, IReadOnlyList<(TensorData? Tensor, int[]? Rows)> sources)
    {
        var last = sources[^1].Tensor ?? throw new PipelineRowException("no step that answers every row answered");
        var count = RowCount(last, last.Name);
        var offsets = new int[sources.Count][];
        for (var s = 0; s < sources.Count; s++)
        {
            if (sources[s].Tensor is not { } tensor)
            {
                continue;
            }
            if (tensor.DataType != last.DataType || !tensor.Shape.AsSpan(1).SequenceEqual(last.Shape.AsSpan(1)))
            {
                throw new PipelineRowException(
                    $"output '{name}' takes rows of {tensor.DataType.ToOipName()} {Format(tensor.Shape)} and of {last.DataType.ToOipName()} {Format(last.Shape)}: the rows of one output must have one datatype and shape");
            }
            var rowCount = RowCount(tensor, tensor.Name);
            if (sources[s].Rows is { } rows && rows.Length != rowCount)
            {
                throw new PipelineRowException($"a step was sent {rows.Length} rows but answered {rowCount}");
            }
            offsets[s] = RowOffsets(tensor, rowCount);
        }

        var picks = new (int Source, int Position)[count];
        var length = 0;
        for (var row = 0; row < count; row++)
        {
            for (var s = 0; s < sources.Count; s++)
            {
                if (sources[s].Tensor is null)
                {
                    continue;
                }
                var position = sources[s].Rows is { } rows ? Array.BinarySearch(rows, row) : row;
                if (position >= 0)
                {
                    picks[row] = (s, position);
                    length += offsets[s][position + 1] - offsets[s][position];
                    break;
                }
            }
        }
        var answer = TensorData.Rent(name, last.DataType, [count, .. last.Shape.AsSpan(1)], length);
        var to = 0;
        foreach (var (source, position) in picks)
        {
            var bytes = sources[source].Tensor!.Span[offsets[source][position]..offsets[source][position + 1]];
            bytes.CopyTo(answer.Span[to..]);
            to += bytes.Length;
        }
        return answer;
    }

    /// <summary>The tensor's first dimension: its rows.</summary>
    public static int RowCount(TensorData tensor, string name) =>
        tensor.Shape.Length == 0
            ? throw new PipelineRowException($"tensor '{name}' is a scalar (shape []), so it has no rows to pick")
            : checked((int)tensor.Shape[0]);

    /// <summary>Where each row's bytes start, and (at [count]) where the last ends. BYTES rows vary in length: walked.</summary>
    private static int[] RowOffsets(TensorData tensor, int count)
    {
        var offsets = new int[count + 1];
        if (count == 0)
        {
            return offsets;
        }
        if (tensor.DataType != TensorDataType.Bytes)
        {
            var rowBytes = tensor.Length / count;
            for (var row = 0; row <= count; row++)
            {
                offsets[row] = row * rowBytes;
            }
            return offsets;
        }
        var perRow = tensor.ElementCount / count;
        var bytes = tensor.Span;
        var at = 0;
        for (var row = 0; row < count; row++)
        {
            offsets[row] = at;
            for (var element = 0; element < perRow; element++)
            {
                if (bytes.Length - at < 4 || BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]) > (uint)(bytes.Length - at - 4))
                {
                    throw new PipelineRowException($"tensor '{tensor.Name}' holds fewer BYTES elements than its shape {Format(tensor.Shape)} says");
                }
                at += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
            }
        }
        offsets[count] = at;
        return offsets;
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
