using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hyperion.Orchestrator.Captures;

/// <summary>
/// Turns a captured Open Inference Protocol JSON request and response into what <c>captures</c> stores: tensors by
/// name, each <c>{"datatype", "shape", "data": [flat, row-major]}</c> (nested <c>data</c> is flattened), with the
/// deployment's redacted names left out everywhere, the payload too. A pure function: the ingestor's loop and the
/// unit tests call it the same way.
/// </summary>
internal static class CaptureParser
{
    /// <exception cref="CaptureFormatException">The bodies are not an OIP JSON request and response; the message says what is wrong.</exception>
    public static ParsedCapture Parse(ReadOnlySpan<byte> request, ReadOnlySpan<byte> response, IReadOnlyCollection<string> redact, bool keepPayload)
    {
        var requestBody = ParseObject(request, "request");
        var responseBody = ParseObject(response, "response");
        var inputs = Tensors(requestBody, "inputs", "request", redact);
        var outputs = Tensors(responseBody, "outputs", "response", redact);
        var oipId = requestBody["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : null;
        var rows = Rows(requestBody);
        string? payload = null;
        if (keepPayload)
        {
            RemoveRedacted(requestBody, "inputs", redact);
            RemoveRedacted(responseBody, "outputs", redact);
            payload = new JsonObject { ["request"] = requestBody, ["response"] = responseBody }.ToJsonString();
        }
        return new ParsedCapture(oipId, rows, inputs.ToJsonString(), outputs.ToJsonString(), payload);
    }

    private static JsonObject ParseObject(ReadOnlySpan<byte> body, string what)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw new CaptureFormatException($"the {what} is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CaptureFormatException($"the {what} is not JSON: {ex.Message}");
        }
    }

    private static JsonObject Tensors(JsonObject body, string member, string what, IReadOnlyCollection<string> redact)
    {
        if (body[member] is not JsonArray list)
        {
            throw new CaptureFormatException($"the {what} has no \"{member}\" array");
        }
        var tensors = new JsonObject();
        foreach (var item in list)
        {
            if (item is not JsonObject tensor || tensor["name"] is not JsonValue nameValue || nameValue.GetValueKind() != JsonValueKind.String)
            {
                throw new CaptureFormatException($"every entry of the {what}'s \"{member}\" must be an object with a \"name\"");
            }
            var name = nameValue.GetValue<string>();
            if (redact.Contains(name))
            {
                continue;
            }
            if (tensor["datatype"] is not JsonValue datatype || datatype.GetValueKind() != JsonValueKind.String)
            {
                throw new CaptureFormatException($"{what} tensor '{name}' has no \"datatype\"");
            }
            if (tensor["shape"] is not JsonArray shape || shape.Any(dimension => dimension is not JsonValue d || d.GetValueKind() != JsonValueKind.Number))
            {
                throw new CaptureFormatException($"{what} tensor '{name}' has no \"shape\" array of numbers");
            }
            if (tensor["data"] is not { } data)
            {
                throw new CaptureFormatException($"{what} tensor '{name}' has no \"data\" (binary tensors are not captured)");
            }
            var flat = new JsonArray();
            Flatten(data, flat);
            if (!tensors.TryAdd(name, new JsonObject
                {
                    ["datatype"] = datatype.GetValue<string>(),
                    ["shape"] = shape.DeepClone(),
                    ["data"] = flat,
                }))
            {
                throw new CaptureFormatException($"the {what} names tensor '{name}' twice");
            }
        }
        return tensors;
    }

    /// <summary>OIP allows <c>data</c> flat or nested by the shape; stored flat, row-major (the nesting order).</summary>
    private static void Flatten(JsonNode? node, JsonArray flat)
    {
        if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                Flatten(item, flat);
            }
        }
        else
        {
            flat.Add(node?.DeepClone());
        }
    }

    /// <summary>The batch dimension: the first input's first dimension (1 for a scalar or a request without inputs).</summary>
    private static int Rows(JsonObject request) =>
        request["inputs"] is JsonArray { Count: > 0 } inputs && inputs[0]?["shape"] is JsonArray { Count: > 0 } shape
        && shape[0] is JsonValue first && first.TryGetValue<long>(out var rows) && rows is >= 0 and <= int.MaxValue
            ? (int)rows
            : 1;

    private static void RemoveRedacted(JsonObject body, string member, IReadOnlyCollection<string> redact)
    {
        if (redact.Count == 0 || body[member] is not JsonArray list)
        {
            return;
        }
        for (var i = list.Count - 1; i >= 0; i--)
        {
            if (list[i]?["name"]?.GetValue<string>() is { } name && redact.Contains(name))
            {
                list.RemoveAt(i);
            }
        }
    }
}

/// <summary>One capture as stored: <see cref="Inputs"/> and <see cref="Outputs"/> are jsonb text; <see cref="Payload"/> only when kept.</summary>
internal sealed record ParsedCapture(string? OipId, int Rows, string Inputs, string Outputs, string? Payload);

/// <summary>A stream entry that is not a capture the orchestrator can read; acknowledged and counted, never retried.</summary>
internal sealed class CaptureFormatException(string message) : Exception(message);
