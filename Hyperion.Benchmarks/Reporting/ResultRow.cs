using System.Globalization;

namespace Hyperion.Benchmarks.Reporting;

/// <summary>
/// One line of the table: one of <see cref="Runs"/> runs (the median by throughput for served
/// rows, the fastest in process) with that run's own latencies. <see cref="Encoding"/> is how
/// the rows travel: "json", "binary" or "-" in process. <see cref="Spread"/> is
/// (fastest - slowest) ÷ median, how much the machine's other work moved the runs.
/// <see cref="Concurrency"/> is connections, or "1 caller" in process.
/// </summary>
public sealed record ResultRow(
    string Scenario,
    string Model,
    string Encoding,
    int Batch,
    string Concurrency,
    double RequestsPerSecond,
    double RowsPerSecond,
    double P50Milliseconds,
    double P99Milliseconds,
    long Errors,
    int Runs,
    double Spread)
{
    public double TailRatio => P50Milliseconds > 0 ? P99Milliseconds / P50Milliseconds : double.NaN;
}

/// <summary>
/// A ratio the run reports: one of the issue's targets, or with no <see cref="Goal"/> a figure
/// shown for context. <see cref="Value"/> is null when a side was not measured.
/// </summary>
public sealed record TargetCheck(string Name, string Formula, double? Value, double? Goal = null, bool AtLeast = true)
{
    public string Verdict => (Value, Goal) switch
    {
        (_, null) => "info",
        (null, _) => "n/a",
        ({ } value, { } goal) when (AtLeast ? value >= goal : value < goal) => "PASS",
        _ => "MISS",
    };

    public string GoalText => Goal switch
    {
        null => "-",
        { } goal => string.Create(CultureInfo.InvariantCulture, $"{(AtLeast ? ">=" : "<")} {goal:0.##}"),
    };
}
