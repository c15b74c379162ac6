using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Pipelines;

/// <summary>
/// Where a pipeline output comes from: one <c>"&lt;step&gt;.&lt;output&gt;"</c>, or a list of them for an output that
/// conditional steps answer for some rows (<c>["big.label", "small.label"]</c>: each row from the first step in the
/// list that ran it). Written as it was given: a string for one source, a list for several.
/// </summary>
[JsonConverter(typeof(PipelineOutputSourcesConverter))]
internal sealed record PipelineOutputSources(IReadOnlyList<string?> Sources) : IDescribedJson
{
    public static string ExpectedJson => "\"<step>.<output>\", or a list of them such as [\"big.label\", \"small.label\"]";
}

internal sealed class PipelineOutputSourcesConverter : JsonConverter<PipelineOutputSources>
{
    public override PipelineOutputSources? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new PipelineOutputSources([reader.GetString()]);
            case JsonTokenType.StartArray:
                var sources = new List<string?>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    sources.Add(reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        JsonTokenType.Null => null,
                        _ => throw new JsonException(),
                    });
                }
                return new PipelineOutputSources(sources);
            default:
                // The serializer turns this into "could not be converted", which JsonBody words with the path.
                throw new JsonException();
        }
    }

    public override void Write(Utf8JsonWriter writer, PipelineOutputSources value, JsonSerializerOptions options)
    {
        if (value.Sources.Count == 1)
        {
            writer.WriteStringValue(value.Sources[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var source in value.Sources)
        {
            writer.WriteStringValue(source);
        }
        writer.WriteEndArray();
    }
}
