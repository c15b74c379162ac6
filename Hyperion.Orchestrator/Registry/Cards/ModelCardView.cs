using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Registry.Cards;

/// <summary>
/// A version's model card as <c>GET .../card</c> answers in JSON: the fields as written (the text fields a string
/// or a list of points), who wrote the card last and when.
/// </summary>
internal sealed record ModelCardView(
    string Model,
    long Version,
    JsonNode? IntendedUse,
    JsonNode? Limitations,
    JsonObject? EvaluationMetrics,
    JsonNode? FairnessNotes,
    string? Owner,
    string? Contact,
    string UpdatedBy,
    DateTimeOffset UpdatedAt)
{
    public static ModelCardView Of(string model, long version, JsonObject card, string updatedBy, DateTimeOffset updatedAt) => new(
        Model: model,
        Version: version,
        IntendedUse: card["intended_use"]?.DeepClone(),
        Limitations: card["limitations"]?.DeepClone(),
        EvaluationMetrics: card["evaluation_metrics"]?.DeepClone() as JsonObject,
        FairnessNotes: card["fairness_notes"]?.DeepClone(),
        Owner: card["owner"]?.GetValue<string>(),
        Contact: card["contact"]?.GetValue<string>(),
        UpdatedBy: updatedBy,
        UpdatedAt: updatedAt);
}
