using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Registry.Lineage;

namespace Hyperion.Orchestrator.Registry.Cards;

/// <summary>
/// A model card as Markdown (<c>GET .../card</c> with <c>Accept: text/markdown</c>): the version's facts from the
/// registry (digest, format, stage, lineage), then the card's sections. Text the user wrote is Markdown already and
/// is kept; what goes into a table cell is escaped so that it stays one cell.
/// </summary>
internal static class ModelCardMarkdown
{
    public const string MediaType = "text/markdown";

    public static string Render(ModelResource model, VersionResource version, ModelCardView card)
    {
        var text = new StringBuilder();
        var lineage = version.LineageNormalized;
        text.Append(CultureInfo.InvariantCulture, $"# Model card: {model.Name} version {version.Version}\n\n");
        if (model.Description.Length > 0)
        {
            text.Append(model.Description).Append("\n\n");
        }
        text.Append("| | |\n|---|---|\n");
        Row(text, "Model", $"{model.Name} ({model.Task})");
        Row(text, "Version", version.Stage == VersionStage.None ? $"{version.Version}" : $"{version.Version} ({Persistence.StoredNames<VersionStage>.Name(version.Stage)})");
        Row(text, "Owner", card.Owner);
        Row(text, "Contact", card.Contact);
        Row(text, "Format", version.Format);
        Row(text, "Digest", $"`{version.Digest}`");
        Row(text, "Registered", $"{version.CreatedAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)} by {version.CreatedBy}");
        Row(text, "Git commit", lineage.GitCommit is null ? null : $"`{lineage.GitCommit}`" + (lineage.Repository is null ? "" : $" ({lineage.Repository})"));
        Row(text, "Data", lineage.Datasets.Count == 0 ? null : string.Join(", ", lineage.Datasets.Select(Describe)));
        Row(text, "Derived from", lineage.Parent is { } parent ? Describe(parent, model.Name) : null);
        Row(text, "Training run", lineage.SourceRun);

        Section(text, "Intended use", card.IntendedUse);
        Section(text, "Limitations", card.Limitations);
        Metrics(text, card.EvaluationMetrics, lineage.Metrics);
        Section(text, "Fairness notes", card.FairnessNotes);
        text.Append(CultureInfo.InvariantCulture, $"\n---\nCard last updated {card.UpdatedAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)} by {card.UpdatedBy}.\n");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string name, string? value)
    {
        if (value is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {name} | {Cell(value)} |\n");
        }
    }

    private static void Section(StringBuilder text, string title, JsonNode? value)
    {
        if (value is null)
        {
            return;
        }
        text.Append(CultureInfo.InvariantCulture, $"\n## {title}\n\n");
        if (value is JsonArray points)
        {
            foreach (var point in points)
            {
                text.Append("- ").Append(point!.GetValue<string>().ReplaceLineEndings("\n  ")).Append('\n');
            }
        }
        else
        {
            text.Append(value.GetValue<string>().TrimEnd()).Append('\n');
        }
    }

    /// <summary>The card's metrics; without them, those in the lineage (said to be from there).</summary>
    private static void Metrics(StringBuilder text, JsonObject? metrics, IReadOnlyDictionary<string, double> fromLineage)
    {
        var rows = new List<(string Name, string? Slice, double Value)>();
        foreach (var (name, value) in metrics ?? [])
        {
            if (value is JsonObject slices)
            {
                rows.AddRange(slices.Select(slice => (name, (string?)slice.Key, slice.Value!.GetValue<double>())));
            }
            else
            {
                rows.Add((name, null, value!.GetValue<double>()));
            }
        }
        var source = "";
        if (rows.Count == 0 && fromLineage.Count > 0)
        {
            rows.AddRange(fromLineage.Select(metric => (metric.Key, (string?)null, metric.Value)));
            source = "From the version's lineage (the card gives none).\n\n";
        }
        if (rows.Count == 0)
        {
            return;
        }
        var sliced = rows.Any(row => row.Slice is not null);
        text.Append("\n## Evaluation metrics\n\n").Append(source);
        text.Append(sliced ? "| metric | slice | value |\n|---|---|---|\n" : "| metric | value |\n|---|---|\n");
        foreach (var (name, slice, value) in rows)
        {
            var number = value.ToString("G6", CultureInfo.InvariantCulture);
            text.Append(sliced ? $"| {Cell(name)} | {Cell(slice ?? "")} | {number} |\n" : $"| {Cell(name)} | {number} |\n");
        }
    }

    private static string Describe(DatasetReference dataset)
    {
        var name = dataset.Name ?? dataset.Uri ?? dataset.Digest ?? "unnamed";
        var details = new[] { dataset.Version is null ? null : $"version {dataset.Version}", dataset.Name is null ? null : dataset.Uri, dataset.Digest }
            .Where(detail => detail is not null && detail != name).ToList();
        return details.Count == 0 ? name : $"{name} ({string.Join(", ", details)})";
    }

    private static string Describe(ParentReference parent, string model) =>
        (parent.Model, parent.Version) switch
        {
            (null, { } version) => string.Create(CultureInfo.InvariantCulture, $"{model} version {version}"),
            ({ } name, { } version) => string.Create(CultureInfo.InvariantCulture, $"{name} version {version}"),
            ({ } name, null) => name,
            _ => "",
        };

    /// <summary>Escapes what would end or split a table cell.</summary>
    private static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
