using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hyperion.Contracts.ControlPlane;

/// <summary>The control plane's wire format: snake_case names, nulls left out, enums as snake_case strings.</summary>
public static class ControlPlaneJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Applies the wire format to options that ASP.NET Core owns (e.g. <c>ConfigureHttpJsonOptions</c>).</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return options;
    }
}
