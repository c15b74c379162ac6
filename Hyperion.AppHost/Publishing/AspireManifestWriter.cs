using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Writes aspire-manifest.json in the format of .NET Aspire's manifest publisher, so tools that read Aspire
/// manifests (Aspirate, azd) deploy this graph: projects as project.v0, Redis and PostgreSQL as container.v0
/// of their public images, databases as value.v0, generated secrets as parameter.v0. Resources keep the
/// order they were declared in, so the same graph always gives the same bytes.
/// </summary>
internal static class AspireManifestWriter
{
    public const string FileName = "aspire-manifest.json";
    public const string Schema = "https://json.schemastore.org/aspire-8.0.json";

    private static readonly JsonWriterOptions s_options = new()
    {
        Indented = true,
        // Readable shell commands and expressions ('&', '+', quotes); the file is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <param name="manifestDirectory">Where the manifest is written: project paths are relative to it, as Aspire writes them.</param>
    public static string Write(PublishedGraph graph, string manifestDirectory)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, s_options))
        {
            writer.WriteStartObject();
            writer.WriteString("$schema", Schema);
            writer.WriteStartObject("resources");
            foreach (var resource in graph.Resources)
            {
                writer.WriteStartObject(resource.Name);
                switch (resource)
                {
                    case PublishedParameter parameter:
                        WriteParameter(writer, parameter);
                        break;
                    case PublishedBackingService service:
                        WriteContainer(writer, service);
                        break;
                    case PublishedDatabase database:
                        writer.WriteString("type", "value.v0");
                        writer.WriteString("connectionString", database.ConnectionStringExpression);
                        break;
                    case PublishedProject project:
                        WriteProject(writer, project, manifestDirectory);
                        break;
                    default:
                        throw new InvalidOperationException($"No manifest form for '{resource.Name}' ({resource.GetType().Name}).");
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteParameter(Utf8JsonWriter writer, PublishedParameter parameter)
    {
        writer.WriteString("type", "parameter.v0");
        writer.WriteString("value", $"{{{parameter.Name}.inputs.value}}");
        writer.WriteStartObject("inputs");
        writer.WriteStartObject("value");
        writer.WriteString("type", "string");
        if (parameter.Secret)
        {
            writer.WriteBoolean("secret", true);
        }
        // The local AppHost generates letters and digits; a deployment tool may generate it the same way.
        writer.WriteStartObject("default");
        writer.WriteStartObject("generate");
        writer.WriteNumber("minLength", parameter.GeneratedLength);
        writer.WriteBoolean("special", false);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteContainer(Utf8JsonWriter writer, PublishedBackingService service)
    {
        var container = service.Container;
        writer.WriteString("type", "container.v0");
        writer.WriteString("connectionString", service.ConnectionStringExpression);
        writer.WriteString("image", container.Image);
        if (container.Entrypoint is { } entrypoint)
        {
            writer.WriteString("entrypoint", entrypoint);
        }
        if (container.Args.Count > 0)
        {
            writer.WriteStartArray("args");
            foreach (var arg in container.Args)
            {
                writer.WriteStringValue(arg);
            }
            writer.WriteEndArray();
        }
        writer.WriteStartArray("volumes");
        writer.WriteStartObject();
        writer.WriteString("name", $"{service.Name}-data");
        writer.WriteString("target", container.DataPath);
        writer.WriteBoolean("readOnly", false);
        writer.WriteEndObject();
        writer.WriteEndArray();
        WriteEnvironment(writer, container.Environment);
        WriteBindings(writer, service.Bindings);
    }

    private static void WriteProject(Utf8JsonWriter writer, PublishedProject project, string manifestDirectory)
    {
        writer.WriteString("type", "project.v0");
        writer.WriteString("path", Path.GetRelativePath(manifestDirectory, project.ProjectPath).Replace('\\', '/'));
        WriteEnvironment(writer, project.Environment);
        WriteBindings(writer, project.Bindings);
    }

    private static void WriteEnvironment(Utf8JsonWriter writer, IReadOnlyList<KeyValuePair<string, string>> environment)
    {
        if (environment.Count == 0)
        {
            return;
        }
        writer.WriteStartObject("env");
        foreach (var (name, value) in environment)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
    }

    private static void WriteBindings(Utf8JsonWriter writer, IReadOnlyList<PublishedBinding> bindings)
    {
        writer.WriteStartObject("bindings");
        foreach (var binding in bindings)
        {
            writer.WriteStartObject(binding.Name);
            writer.WriteString("scheme", binding.Scheme);
            writer.WriteString("protocol", PublishedBinding.Protocol);
            writer.WriteString("transport", binding.Transport);
            if (binding.Port is { } port && port != binding.TargetPort)
            {
                writer.WriteNumber("port", port);
            }
            writer.WriteNumber("targetPort", binding.TargetPort);
            if (binding.IsExternal)
            {
                writer.WriteBoolean("external", true);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }
}
