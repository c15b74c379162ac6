using System.Buffers.Binary;
using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Gateway.Pipelines;

internal enum ConditionOp
{
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

/// <summary>
/// A step's <c>when</c>, compiled: output <paramref name="Tensor"/> of step <paramref name="Step"/> (an index in the
/// plan), each row's elements reduced by max (or min) and compared with <paramref name="Value"/>.
/// </summary>
/// <param name="PerRow">Judged row by row (the first dimension); false: over the whole tensor, for every row at once.</param>
internal sealed record PlannedCondition(int Step, string Tensor, bool Max, ConditionOp Op, double Value, bool PerRow)
{
    /// <summary>The compiled condition; null for a reduction or operator the orchestrator never writes.</summary>
    public static PlannedCondition? From(PipelineCondition condition, int step)
    {
        bool? max = condition.Reduce switch { "max" => true, "min" => false, _ => null };
        ConditionOp? op = condition.Op switch
        {
            "<" => ConditionOp.Less,
            "<=" => ConditionOp.LessOrEqual,
            ">" => ConditionOp.Greater,
            ">=" => ConditionOp.GreaterOrEqual,
            "==" => ConditionOp.Equal,
            "!=" => ConditionOp.NotEqual,
            _ => null,
        };
        return max is null || op is null ? null : new PlannedCondition(step, condition.Tensor, max.Value, op.Value, condition.Value, condition.PerRow);
    }

    /// <summary>
    /// The rows of the request the step runs for: <paramref name="rows"/> numbers the tensor's rows in the request
    /// (null: row i is the request's row i). Null: every row; empty: none.
    /// </summary>
    /// <exception cref="PipelineRowException">The tensor is BYTES, has no rows, or not as many as its step answered.</exception>
    public int[]? Select(TensorData tensor, int[]? rows)
    {
        if (tensor.DataType == TensorDataType.Bytes)
        {
            throw new PipelineRowException($"output '{Tensor}' is BYTES, but the condition compares numbers");
        }
        if (!PerRow)
        {
            return Holds(Reduce(tensor, 0, checked((int)tensor.ElementCount))) ? rows : [];
        }
        var count = RowSelection.RowCount(tensor, Tensor);
        if (rows is not null && rows.Length != count)
        {
            throw new PipelineRowException($"output '{Tensor}' has {count} rows, but its step ran for {rows.Length}");
        }
        var perRow = count == 0 ? 0 : checked((int)(tensor.ElementCount / count));
        var selected = new List<int>(count);
        for (var row = 0; row < count; row++)
        {
            if (Holds(Reduce(tensor, row * perRow, perRow)))
            {
                selected.Add(rows is null ? row : rows[row]);
            }
        }
        return rows is null && selected.Count == count ? null : [.. selected];
    }

    public string Describe() =>
        $"{(Max ? "max" : "min")} of {Tensor} {Op switch
        {
            ConditionOp.Less => "<",
            ConditionOp.LessOrEqual => "<=",
            ConditionOp.Greater => ">",
            ConditionOp.GreaterOrEqual => ">=",
            ConditionOp.Equal => "==",
            _ => "!=",
        }} {Value.ToString(CultureInfo.InvariantCulture)}";

    private bool Holds(double reduced) => Op switch
    {
        ConditionOp.Less => reduced < Value,
        ConditionOp.LessOrEqual => reduced <= Value,
        ConditionOp.Greater => reduced > Value,
        ConditionOp.GreaterOrEqual => reduced >= Value,
        ConditionOp.Equal => reduced == Value,
        _ => reduced != Value,
    };

    /// <summary>Max (or min) of <paramref name="count"/> elements from element <paramref name="first"/>; NaN for none, for which every comparison but != fails.</summary>
    private double Reduce(TensorData tensor, int first, int count)
    {
        var size = tensor.DataType.ElementSize();
        var bytes = tensor.Span.Slice(first * size, count * size);
        var reduced = double.NaN;
        for (var i = 0; i < count; i++)
        {
            var value = Read(tensor.DataType, bytes.Slice(i * size, size));
            if (double.IsNaN(reduced) || (Max ? value > reduced : value < reduced))
            {
                reduced = value;
            }
        }
        return reduced;
    }

    private static double Read(TensorDataType type, ReadOnlySpan<byte> element) => type switch
    {
        TensorDataType.Bool or TensorDataType.UInt8 => element[0],
        TensorDataType.Int8 => (sbyte)element[0],
        TensorDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(element),
        TensorDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(element),
        TensorDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(element),
        TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(element),
        TensorDataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(element),
        TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(element),
        TensorDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
        TensorDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(element),
        _ => BinaryPrimitives.ReadDoubleLittleEndian(element),
    };
}

/// <summary>A tensor whose rows do not fit what the pipeline does with them (the step's answer, not the caller's request).</summary>
internal sealed class PipelineRowException(string message) : Exception(message);
