using System.Globalization;
using System.Text;

namespace Hyperion.Benchmarks.Reporting;

/// <summary>Formats the rows and target checks for the console and as markdown for docs/benchmarks.md.</summary>
public static class ResultTable
{
    private static readonly string[] Headers = ["scenario", "model", "body", "batch", "concurrency", "req/s", "rows/s", "p50 ms", "p99 ms", "p99/p50", "errors", "runs", "spread"];

    public static string[] Cells(ResultRow row) =>
    [
        row.Scenario,
        row.Model,
        row.Encoding,
        row.Batch.ToString(CultureInfo.InvariantCulture),
        row.Concurrency,
        row.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture),
        row.RowsPerSecond.ToString("N0", CultureInfo.InvariantCulture),
        Milliseconds(row.P50Milliseconds),
        Milliseconds(row.P99Milliseconds),
        double.IsNaN(row.TailRatio) ? "-" : row.TailRatio.ToString("0.0", CultureInfo.InvariantCulture),
        row.Errors.ToString(CultureInfo.InvariantCulture),
        row.Runs.ToString(CultureInfo.InvariantCulture),
        row.Spread.ToString("P0", CultureInfo.InvariantCulture),
    ];

    public static string Console(IReadOnlyList<ResultRow> rows, IReadOnlyList<TargetCheck> targets)
    {
        var cells = rows.Select(Cells).ToList();
        var widths = Headers.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        var text = new StringBuilder();
        AppendLine(text, Headers, widths);
        text.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in cells)
        {
            AppendLine(text, row, widths);
        }

        text.AppendLine();
        foreach (var target in targets)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{target.Verdict,-4}  {target.Name}: {Format(target.Value)} (target {target.GoalText})  = {target.Formula}");
        }

        return text.ToString();
    }

    public static string Markdown(IReadOnlyList<ResultRow> rows, IReadOnlyList<TargetCheck> targets, string environment, IReadOnlyList<string> notes)
    {
        var text = new StringBuilder();
        text.AppendLine(environment).AppendLine();
        foreach (var note in notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        if (notes.Count > 0)
        {
            text.AppendLine();
        }

        text.AppendLine("| " + string.Join(" | ", Headers) + " |");
        text.AppendLine("|" + string.Join("|", Headers.Select((_, i) => i >= 3 ? "---:" : "---")) + "|");
        foreach (var row in rows)
        {
            text.AppendLine("| " + string.Join(" | ", Cells(row)) + " |");
        }

        text.AppendLine().AppendLine("| target | value | goal | verdict | ratio |").AppendLine("|---|---:|---|---|---|");
        foreach (var target in targets)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {target.Name} | {Format(target.Value)} | {target.GoalText} | {target.Verdict} | {target.Formula} |");
        }

        return text.ToString();
    }

    // In-process calls to the small model take microseconds; two decimals would show 0.00.
    // A job's row has no per-request latency: NaN shows as "-".
    private static string Milliseconds(double value) => double.IsNaN(value) ? "-" :
        value.ToString(value < 0.1 ? "0.0000" : "0.00", CultureInfo.InvariantCulture);

    private static string Format(double? value) => value?.ToString("0.00", CultureInfo.InvariantCulture) ?? "not measured";

    private static void AppendLine(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            // Text columns align left, numbers right.
            text.Append(i < 5 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
            text.Append(i + 1 < cells.Count ? "  " : Environment.NewLine);
        }
    }
}
