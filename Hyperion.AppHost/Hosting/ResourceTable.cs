namespace Hyperion.AppHost.Hosting;

/// <summary>The table printed once the graph is healthy: what runs, in which state, where.</summary>
internal static class ResourceTable
{
    public static void Print(TextWriter output, IReadOnlyList<ResourceSnapshot> snapshots, Uri? dashboard, IReadOnlyList<(string Label, string Value)> notes, string logsDirectory)
    {
        var nameWidth = Math.Max("RESOURCE".Length, snapshots.Max(s => s.Name.Length));
        var stateWidth = Math.Max("STATE".Length, snapshots.Max(s => s.State.ToString().Length));
        var lines = new List<string>
        {
            "",
            "Hyperion is running.",
            "",
            $"  {"RESOURCE".PadRight(nameWidth)}  {"STATE".PadRight(stateWidth)}  URL",
        };
        foreach (var snapshot in snapshots)
        {
            lines.Add($"  {snapshot.Name.PadRight(nameWidth)}  {snapshot.State.ToString().PadRight(stateWidth)}  {string.Join(", ", snapshot.Urls)}");
        }
        lines.Add("");
        var labels = new List<(string Label, string Value)>();
        if (dashboard is not null)
        {
            labels.Add(("Dashboard", dashboard.ToString().TrimEnd('/')));
        }
        labels.AddRange(notes);
        labels.Add(("Logs", logsDirectory));
        var labelWidth = labels.Max(l => l.Label.Length) + 1;
        lines.AddRange(labels.Select(l => $"  {(l.Label + ":").PadRight(labelWidth)} {l.Value}"));
        lines.Add("");
        lines.Add("Press Ctrl+C to stop.");
        output.WriteLine(string.Join(Environment.NewLine, lines));
        output.Flush();
    }
}
