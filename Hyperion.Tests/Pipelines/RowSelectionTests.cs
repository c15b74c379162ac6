using System.Runtime.InteropServices;
using System.Text;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Tensors;
using Hyperion.Gateway.Pipelines;

namespace Hyperion.Tests.Pipelines;

/// <summary>
/// The rows a step with a <c>when</c> runs for, and how its answer and the other steps' are put back together row by
/// row (the confidence cascade: the big model only for the rows where the small one is unsure).
/// </summary>
public sealed class RowSelectionTests
{
    private static TensorData Fp32(string name, long[] shape, params float[] values)
    {
        var tensor = TensorData.Rent(name, TensorDataType.Fp32, shape, values.Length * 4);
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(tensor.Span);
        return tensor;
    }

    private static string Of(int[]? rows) => rows is null ? "every row" : $"[{string.Join(", ", rows)}]";

    private static float[] Values(TensorData tensor) => MemoryMarshal.Cast<byte, float>(tensor.Span).ToArray();

    private static PlannedCondition Condition(string reduce, string op, double value, bool perRow = true) =>
        PlannedCondition.From(new PipelineCondition("small", "probabilities", reduce, op, value, perRow), step: 0)!;

    [Fact]
    public void A_row_is_picked_when_its_reduced_elements_compare_true()
    {
        using var probabilities = Fp32("probabilities", [3, 3], 0.2f, 0.5f, 0.3f, 0.95f, 0.03f, 0.02f, 0.4f, 0.4f, 0.2f);

        Assert.Equal("[0, 2]", Of(Condition("max", "<", 0.9).Select(probabilities, rows: null)));
        Assert.Equal("[1]", Of(Condition("max", ">=", 0.9).Select(probabilities, rows: null)));
        Assert.Equal("[1]", Of(Condition("min", "<", 0.1).Select(probabilities, rows: null)));
        Assert.Equal("every row", Of(Condition("max", "<", 2).Select(probabilities, rows: null)));
        Assert.Equal("[]", Of(Condition("max", ">", 2).Select(probabilities, rows: null)));
        Assert.Equal("[0]", Of(Condition("max", "==", 0.5f).Select(probabilities, rows: null)));
        Assert.Equal("[1, 2]", Of(Condition("max", "!=", 0.5f).Select(probabilities, rows: null)));
    }

    [Fact]
    public void The_rows_of_a_step_that_ran_for_some_rows_are_the_requests_rows_it_ran_for()
    {
        // A tensor answered for request rows 1 and 4: its row 0 is the request's row 1.
        using var answered = Fp32("probabilities", [2, 2], 0.6f, 0.4f, 0.99f, 0.01f);
        Assert.Equal("[1]", Of(Condition("max", "<", 0.9).Select(answered, rows: [1, 4])));
        Assert.Equal("[1, 4]", Of(Condition("max", ">", 0, perRow: true).Select(answered, rows: [1, 4])));
        Assert.Throws<PipelineRowException>(() => Condition("max", "<", 0.9).Select(answered, rows: [1, 4, 5]));
    }

    [Fact]
    public void Without_a_batch_dimension_the_condition_is_judged_over_the_whole_tensor()
    {
        using var scores = Fp32("probabilities", [2, 2], 0.6f, 0.4f, 0.99f, 0.01f);
        Assert.Equal("every row", Of(Condition("max", ">", 0.9, perRow: false).Select(scores, rows: null)));
        Assert.Equal("[]", Of(Condition("max", ">", 0.999, perRow: false).Select(scores, rows: null)));
    }

    [Fact]
    public void Every_numeric_datatype_is_compared_by_value_and_BYTES_is_refused()
    {
        using var labels = TensorData.Rent("label", TensorDataType.Int64, [3], 24);
        MemoryMarshal.Cast<byte, long>(labels.Span)[0] = 3;
        MemoryMarshal.Cast<byte, long>(labels.Span)[1] = -7;
        MemoryMarshal.Cast<byte, long>(labels.Span)[2] = 3;
        var isThree = PlannedCondition.From(new PipelineCondition("small", "label", "max", "==", 3, PerRow: true), step: 0)!;
        Assert.Equal("[0, 2]", Of(isThree.Select(labels, rows: null)));

        using var half = TensorData.Rent("score", TensorDataType.Fp16, [2, 1], 4);
        MemoryMarshal.Cast<byte, Half>(half.Span)[0] = (Half)0.25;
        MemoryMarshal.Cast<byte, Half>(half.Span)[1] = (Half)0.75;
        Assert.Equal("[1]", Of(PlannedCondition.From(new PipelineCondition("small", "score", "min", ">", 0.5, PerRow: true), step: 0)!.Select(half, rows: null)));

        using var text = TensorData.Rent("text", TensorDataType.Bytes, [1], 5);
        Assert.Throws<PipelineRowException>(() => isThree.Select(text, rows: null));
    }

    [Fact]
    public void Rows_are_intersected_in_request_numbering()
    {
        Assert.Equal("every row", Of(RowSelection.Intersect(null, null)));
        Assert.Equal("[1, 3]", Of(RowSelection.Intersect(null, [1, 3])));
        Assert.Equal("[3, 7]", Of(RowSelection.Intersect([0, 3, 5, 7], [1, 3, 7, 9])));
        Assert.Equal("[]", Of(RowSelection.Intersect([0, 2], [1, 3])));
    }

    [Fact]
    public void Gathering_copies_only_the_rows_asked_and_keeps_the_tensor_when_they_are_all_of_it()
    {
        using var pixels = Fp32("pixels", [3, 2], 1, 2, 3, 4, 5, 6);

        using var picked = RowSelection.Gather(pixels, tensorRows: null, rows: [0, 2], out var copied);
        Assert.True(copied);
        Assert.Equal([2L, 2], picked.Shape);
        Assert.Equal([1f, 2, 5, 6], Values(picked));

        Assert.Same(pixels, RowSelection.Gather(pixels, tensorRows: null, rows: [0, 1, 2], out copied));
        Assert.False(copied);

        // A tensor answered for request rows 2, 5 and 9: request row 9 is its row 2.
        using var answered = RowSelection.Gather(pixels, tensorRows: [2, 5, 9], rows: [9], out copied);
        Assert.Equal([5f, 6], Values(answered));
        Assert.Throws<PipelineRowException>(() => RowSelection.Gather(pixels, tensorRows: null, rows: [3], out _));
    }

    [Fact]
    public void BYTES_rows_of_different_lengths_are_gathered_whole()
    {
        var words = new[] { "a", "bcd", "", "efgh" };
        var raw = new List<byte>();
        foreach (var word in words)
        {
            raw.AddRange(BitConverter.GetBytes(word.Length));
            raw.AddRange(Encoding.UTF8.GetBytes(word));
        }
        using var text = TensorData.Rent("text", TensorDataType.Bytes, [2, 2], raw.Count);
        raw.ToArray().CopyTo(text.Span);

        using var second = RowSelection.Gather(text, tensorRows: null, rows: [1], out _);
        Assert.Equal([1L, 2], second.Shape);
        Assert.Equal(raw.Skip(4 + 1 + 4 + 3).ToArray(), second.Span.ToArray());
    }

    [Fact]
    public void An_output_takes_each_row_from_the_first_step_that_answered_it()
    {
        // big ran for request rows 0 and 2 of 4; small answered every row.
        using var big = Fp32("label", [2, 1], 10, 30);
        using var small = Fp32("label", [4, 1], 0, 1, 2, 3);

        using var answer = RowSelection.Coalesce("label", [(big, [0, 2]), (small, null)]);
        Assert.Equal("label", answer.Name);
        Assert.Equal([4L, 1], answer.Shape);
        Assert.Equal([10f, 1, 30, 3], Values(answer));

        // A step that did not run gives no row.
        using var none = RowSelection.Coalesce("label", [(null, null), (small, null)]);
        Assert.Equal([0f, 1, 2, 3], Values(none));

        using var wide = Fp32("label", [1, 2], 7, 8);
        var mismatch = Assert.Throws<PipelineRowException>(() => RowSelection.Coalesce("label", [(wide, [0]), (small, null)]));
        Assert.Contains("one datatype and shape", mismatch.Message, StringComparison.Ordinal);

        // A step sent two rows that answers one is not silently filled in from the next step.
        using var shorter = Fp32("label", [1, 1], 10);
        var missing = Assert.Throws<PipelineRowException>(() => RowSelection.Coalesce("label", [(shorter, [0, 2]), (small, null)]));
        Assert.Equal("a step was sent 2 rows but answered 1", missing.Message);
    }
}
