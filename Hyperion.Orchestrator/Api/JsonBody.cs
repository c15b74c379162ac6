using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// Reads every JSON request body of the control plane, so that each mistake has one wording: a body that is not
/// JSON gets 415; JSON that does not parse 400 with its line and byte; a value of the wrong type 400 with its path
/// and the JSON expected there; an unknown field 400 naming it and the fields allowed beside it. Each says what a
/// good body looks like. Handlers call it instead of binding a parameter, whose 400s are bare, and describe the
/// body for OpenAPI with <see cref="JsonBodyOpenApi.WithJsonBody{T}"/>.
/// </summary>
/// <remarks>
/// Unknown fields are refused where the body's type says so (<c>[JsonUnmappedMemberHandling(Disallow)]</c>): public
/// request bodies do, because a misspelt optional field silently ignored changes what the call does; the internal
/// reports of our own services do not, so that a newer replica can talk to an older orchestrator.
/// </remarks>
internal static class JsonBody
{
    /// <summary>The body as <typeparamref name="T"/>, or the problem to answer; <paramref name="example"/> is a good body.</summary>
    public static async Task<(T? Value, BodyProblem? Problem)> ReadAsync<T>(HttpRequest request, string example, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return (null, ApiProblems.BodyNotJson(
                ApiProblems.WrongContentType(request, $"send the body as JSON with 'Content-Type: application/json', such as {example}")));
        }
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, ControlPlaneJson.Options, cancellationToken);
            return value is null
                ? (null, ApiProblems.UnreadableBody($"the body is JSON null; expected {example}."))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.UnreadableBody(Describe(ex, typeof(T), example)));
        }
    }

    /// <summary>
    /// The body as a JSON object, for handlers that check it field by field and report every mistake at once under
    /// <c>errors</c> (with <see cref="RejectUnknownFields"/>).
    /// </summary>
    public static Task<(JsonObject? Value, BodyProblem? Problem)> ReadObjectAsync(HttpRequest request, string example, CancellationToken cancellationToken) =>
        ReadAsync<JsonObject>(request, example, cancellationToken);

    /// <summary>Adds an error for every field of <paramref name="body"/> not in <paramref name="known"/>.</summary>
    public static void RejectUnknownFields(JsonObject body, IReadOnlyList<string> known, Dictionary<string, string[]> errors)
    {
        foreach (var (name, _) in body)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                errors[name] = [UnknownField(name, $"$.{name}", known)];
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

    /// <summary>What the serializer's exception means for a body of type <paramref name="type"/>, in JSON terms.</summary>
    internal static string Describe(JsonException exception, Type type, string example)
    {
        var path = exception.Path is { Length: > 0 } p ? p : "$";
        var message = exception.Message;
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal) && message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var field = message[unmapped.Length..message.IndexOf("' could not be mapped", StringComparison.Ordinal)];
            var segments = JsonPath.Segments(path);
            var parent = segments.Count == 0 ? null : JsonPath.TypeAt(ControlPlaneJson.Options, type, segments[..^1]);
            return $"{UnknownField(field, path, parent is null ? null : FieldsOf(parent))}; expected {example}.";
        }
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            var segments = JsonPath.Segments(path);
            var expected = segments.Count == 0
                ? $"a JSON object such as {example}"
                : JsonPath.TypeAt(ControlPlaneJson.Options, type, segments) is { } at ? Expected(at) : "another type";
            return $"{path} has the wrong type: expected {expected}.";
        }
        var reason = Reason(message);
        return exception.LineNumber is { } line
            ? $"the body is not valid JSON at line {line + 1}, byte {exception.BytePositionInLine + 1}: {reason}; expected {example}."
            : $"the body is not valid: {reason}; expected {example}.";
    }

    private static string UnknownField(string field, string path, IEnumerable<string>? known) =>
        known is null
            ? $"unknown field '{field}' at {path}"
            : $"unknown field '{field}' at {path} (the fields there are {string.Join(", ", known)})";

    private static IEnumerable<string>? FieldsOf(Type type) =>
        ControlPlaneJson.Options.GetTypeInfo(type) is { Kind: JsonTypeInfoKind.Object } info ? info.Properties.Select(property => property.Name) : null;

    /// <summary>The JSON a .NET type reads, as a user would say it.</summary>
    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return "a string";
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(uint) || type == typeof(ulong))
        {
            return "a whole number";
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number";
        }
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return "a time in ISO 8601 such as \"2030-01-01T00:00:00Z\"";
        }
        if (type == typeof(Guid))
        {
            return "a UUID";
        }
        if (type.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(type).Select(name => $"\"{JsonNamingPolicy.SnakeCaseLower.ConvertName(name)}\""));
        }
        if (typeof(IDescribedJson).IsAssignableFrom(type))
        {
            return (string)type.GetProperty(nameof(IDescribedJson.ExpectedJson), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        }
        var info = ControlPlaneJson.Options.GetTypeInfo(type);
        return info.Kind switch
        {
            JsonTypeInfoKind.Enumerable => $"an array whose items are each {Expected(info.ElementType!)}",
            JsonTypeInfoKind.Dictionary => $"a JSON object whose values are each {Expected(info.ElementType!)}",
            JsonTypeInfoKind.Object => $"a JSON object with the fields {string.Join(", ", FieldsOf(type)!)}",
            _ => "JSON of another type",
        };
    }

    /// <summary>The serializer's own sentence without the path and position it appends (they are reported apart).</summary>
    private static string Reason(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        }
        return (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
    }
}
