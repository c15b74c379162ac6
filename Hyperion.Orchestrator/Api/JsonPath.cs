using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// The paths System.Text.Json reports (<c>$.canary.steps[1]</c>, <c>$['odd name']</c>) walked through the serializer's
/// own metadata, so that a message can say what a place in the body expects without a hand-kept list per type.
/// </summary>
internal static class JsonPath
{
    /// <summary>One step of a path: a property name, or null for an array index.</summary>
    public static List<string?> Segments(string path)
    {
        var segments = new List<string?>();
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                segments.Add(path[(i + 2)..end]);
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                segments.Add(null);
                i = end < 0 ? path.Length : end + 1;
            }
            else
            {
                break;
            }
        }
        return segments;
    }

    /// <summary>The .NET type read at <paramref name="segments"/> below <paramref name="root"/>, or null where none is.</summary>
    public static Type? TypeAt(JsonSerializerOptions options, Type root, IReadOnlyList<string?> segments)
    {
        Type? type = root;
        foreach (var segment in segments)
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            type = info.Kind switch
            {
                JsonTypeInfoKind.Object when segment is not null => info.Properties
                    .FirstOrDefault(property => string.Equals(property.Name, segment, options.PropertyNameCaseInsensitive
                        ? StringComparison.OrdinalIgnoreCase
                        : StringComparison.Ordinal))?.PropertyType,
                JsonTypeInfoKind.Enumerable when segment is null => info.ElementType,
                JsonTypeInfoKind.Dictionary when segment is not null => info.ElementType,
                _ => null,
            };
            if (type is null)
            {
                return null;
            }
        }
        return type;
    }
}
