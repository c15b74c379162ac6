using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Registry.Cards;

/// <summary>
/// The body of <c>PUT .../card</c>: which fields a card has and what each holds. Every mistake is reported at once,
/// under its field; a null field is the same as a field left out.
/// </summary>
internal static class ModelCardCheck
{
    public const int MaxTextLength = 16 * 1024;
    public const int MaxListItems = 100;
    public const int MaxNameLength = 256;
    public const int MaxMetrics = 200;

    public const string Example =
        """{"intended_use": "Reading handwritten digits on scanned forms", "limitations": ["8x8 grey images only"], "evaluation_metrics": {"accuracy": 0.97}, "fairness_notes": "...", "owner": "vision-team", "contact": "vision@example.com"}""";

    /// <summary>The text fields: a paragraph (Markdown is kept) or a list of points.</summary>
    public static readonly string[] TextFields = ["intended_use", "limitations", "fairness_notes"];

    /// <summary>Short single-line fields.</summary>
    public static readonly string[] NameFields = ["owner", "contact"];

    public const string MetricsField = "evaluation_metrics";

    public static readonly string[] Fields = ["intended_use", "limitations", MetricsField, "fairness_notes", "owner", "contact"];

    /// <summary>The card to store (only its non-null fields, in the order above); empty when <paramref name="errors"/> has any.</summary>
    public static JsonObject Read(JsonObject body, Dictionary<string, string[]> errors)
    {
        JsonBody.RejectUnknownFields(body, Fields, errors);
        var card = new JsonObject();
        foreach (var field in Fields)
        {
            if (body[field] is not { } value)
            {
                continue;
            }
            var error = field switch
            {
                MetricsField => CheckMetrics(value, errors),
                _ when NameFields.Contains(field) => CheckName(value),
                _ => CheckText(value),
            };
            if (error is not null)
            {
                errors[field] = [error];
            }
            card[field] = value.DeepClone();
        }
        if (errors.Count == 0 && card.Count == 0)
        {
            errors["card"] = [$"give at least one of {string.Join(", ", Fields)}"];
        }
        return errors.Count == 0 ? card : [];
    }

    private static string? CheckText(JsonNode value)
    {
        var expected = $"must be text, or a list of strings (one point each), at most {MaxTextLength} characters each";
        if (JsonBody.TryGetString(value, out var text))
        {
            return text.Length is 0 or > MaxTextLength ? expected : null;
        }
        if (value is not JsonArray { Count: > 0 and <= MaxListItems } items)
        {
            return value is JsonArray ? $"must list 1 to {MaxListItems} points" : expected;
        }
        return items.All(item => JsonBody.TryGetString(item, out var point) && point.Length is > 0 and <= MaxTextLength) ? null : expected;
    }

    private static string? CheckName(JsonNode value) =>
        JsonBody.TryGetString(value, out var text) && text.Length is > 0 and <= MaxNameLength && !text.Contains('\n', StringComparison.Ordinal)
            ? null
            : $"must be a single line of text of 1 to {MaxNameLength} characters";

    /// <summary>Metric name → number, or → an object of slice → number (per group, per data set); errors go under each metric's own path.</summary>
    private static string? CheckMetrics(JsonNode value, Dictionary<string, string[]> errors)
    {
        if (value is not JsonObject metrics)
        {
            return $"must be an object of metric name → number, such as {{\"accuracy\": 0.97}}, or → an object of slice → number, such as {{\"accuracy\": {{\"female\": 0.96, \"male\": 0.97}}}}";
        }
        if (metrics.Count > MaxMetrics)
        {
            return $"must hold at most {MaxMetrics} metrics, got {metrics.Count}";
        }
        foreach (var (name, metric) in metrics)
        {
            var fine = IsNumber(metric)
                || metric is JsonObject { Count: > 0 and <= MaxMetrics } slices && slices.All(slice => IsNumber(slice.Value));
            if (!fine)
            {
                errors[$"{MetricsField}.{name}"] = ["must be a number, or an object of slice → number such as {\"female\": 0.96, \"male\": 0.97}"];
            }
        }
        return null;
    }

    private static bool IsNumber(JsonNode? node) => node is JsonValue value && value.GetValueKind() == JsonValueKind.Number;
}
