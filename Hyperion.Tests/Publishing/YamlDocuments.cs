using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Hyperion.Tests.Publishing;

/// <summary>Multi-document YAML as JSON nodes, to walk Kubernetes objects of any kind.</summary>
internal static class YamlDocuments
{
    private static readonly IDeserializer s_reader = new DeserializerBuilder().Build();
    private static readonly ISerializer s_json = new SerializerBuilder().JsonCompatible().Build();

    public static List<JsonObject> Parse(string yaml)
    {
        var documents = new List<JsonObject>();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = s_reader.Deserialize(parser);
            if (document is not null)
            {
                documents.Add(JsonNode.Parse(s_json.Serialize(document))!.AsObject());
            }
        }
        return documents;
    }

    public static string Kind(this JsonObject document) => (string)document["kind"]!;

    public static string Name(this JsonObject document) => (string)document["metadata"]!["name"]!;

    public static string Describe(this JsonObject document) => $"{document.Kind()}/{document.Name()}";

    public static IEnumerable<JsonObject> Objects(this JsonNode? array) =>
        array is JsonArray items ? items.Select(item => item!.AsObject()) : [];
}
