using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Registry;

/// <summary>Reads a JSON object body with messages that say what was wrong (the default binder answers a bare 400).</summary>
internal static class JsonBody
{
    public static async Task<(JsonObject? Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, string example, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, ApiProblems.UnsupportedMediaType(
                $"send the body as JSON with 'Content-Type: application/json', e.g. {example}; got '{request.ContentType ?? "no Content-Type"}'"));
        }
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.BadRequest($"the body is not valid JSON ({ex.Message}); expected an object such as {example}"));
        }
        if (node is not JsonObject body)
        {
            return (null, ApiProblems.BadRequest($"the body must be a JSON object such as {example}"));
        }
        return (body, null);
    }

    /// <summary>Adds an error for every field of <paramref name="body"/> not in <paramref name="known"/>.</summary>
    public static void RejectUnknownFields(JsonObject body, IReadOnlyList<string> known, Dictionary<string, string[]> errors)
    {
        foreach (var (name, _) in body)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                errors[name] = [$"unknown field; expected {string.Join(", ", known)}"];
            }
        }
    }

    public static bool TryGetString(JsonNode? node, out string value)
    {
        if (node is JsonValue json && json.TryGetValue(out string? text))
        {
            value = text;
            return true;
        }
        value = "";
        return false;
    }
}
