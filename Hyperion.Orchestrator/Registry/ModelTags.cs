using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// Tags are a string → string map. Keys: a letter or digit, then letters, digits, <c>_ . - /</c>, at most 63
/// characters (no <c>:</c>, which separates key and value in <c>?tag=key:value</c>); values: at most 256 characters.
/// </summary>
internal static partial class ModelTags
{
    public const int MaxTags = 64;
    public const int MaxValueLength = 256;
    public const string KeyRule = "a letter or digit, then letters, digits, '_', '.', '-' or '/', at most 63 characters";

    public static bool IsValidKey(string key) => KeyPattern().IsMatch(key);

    /// <summary>Reads a <c>tags</c> field; the error says what is wrong, or is null.</summary>
    public static Dictionary<string, string>? Read(JsonNode? node, out string? error)
    {
        error = null;
        if (node is not JsonObject tags)
        {
            error = "must be an object of string values, e.g. {\"team\": \"vision\"}";
            return null;
        }
        if (tags.Count > MaxTags)
        {
            error = $"has {tags.Count} tags; at most {MaxTags} are allowed";
            return null;
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            if (!IsValidKey(key))
            {
                error = $"key '{key}' is not valid: expected {KeyRule}";
                return null;
            }
            if (value is not JsonValue json || !json.TryGetValue(out string? text))
            {
                error = $"'{key}' must have a string value";
                return null;
            }
            if (text.Length > MaxValueLength)
            {
                error = $"'{key}' has a value of {text.Length} characters; at most {MaxValueLength} are allowed";
                return null;
            }
            result[key] = text;
        }
        return result;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$")]
    private static partial Regex KeyPattern();
}
