using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting.ApplicationModel;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Reads the graph as Aspire published it (aspire-manifest.json, written by Aspire's own manifest step) into a
/// <see cref="PublishedGraph"/>: environment as manifest expressions, bindings with their container ports. What the
/// manifest does not say (replica counts, which kind of backing service a container is, a database's server) comes
/// from the application model the manifest was written from.
/// </summary>
internal static partial class PublishedGraphReader
{
    public static PublishedGraph Read(JsonDocument manifest, DistributedApplicationModel model)
    {
        var resources = new List<PublishedResource>();
        foreach (var entry in manifest.RootElement.GetProperty("resources").EnumerateObject())
        {
            var name = entry.Name;
            var json = entry.Value;
            var type = json.GetProperty("type").GetString() ?? "";
            var resource = model.Resources.FirstOrDefault(r => r.Name == name);
            if (type == "annotated.string")
            {
                // A parameter in another encoding (URI): only Aspire's reference forms that this graph does not pass use it.
                continue;
            }
            resources.Add((type, resource) switch
            {
                ("parameter.v0", _) => new PublishedParameter(name, json.GetProperty("inputs").GetProperty("value").TryGetProperty("secret", out var secret) && secret.GetBoolean()),
                (_, ProjectResource project) => ReadProject(name, json, project),
                (_, RedisResource or PostgresServerResource) => ReadBackingService(name, json, resource!, model),
                (_, PostgresDatabaseResource database) => new PublishedDatabase(name, database.DatabaseName, database.Parent.Name, json.GetProperty("connectionString").GetString()!),
                // A value Aspire computed while publishing (whether Redis uses TLS, say): part of a connection string.
                ("value.v0", _) => new PublishedValue(name, json.GetProperty("connectionString").GetString() ?? ""),
                _ => throw new InvalidOperationException(
                    $"'{name}' ({type}) cannot be published to Kubernetes: the tree is made of projects, Redis, PostgreSQL and parameters. " +
                    "Run it as a project of the solution, or leave it out of the published graph."),
            });
        }
        return new PublishedGraph(resources);
    }

    private static PublishedProject ReadProject(string name, JsonElement json, ProjectResource project)
    {
        var environment = ReadEnvironment(json);
        // Whom it talks to, as its environment says ({orchestrator.bindings.http.url}, {hyperion.connectionString}).
        var references = environment
            .SelectMany(e => Placeholder().Matches(e.Value).Select(m => m.Groups["resource"].Value))
            .Where(r => r != name)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new PublishedProject(
            name,
            json.GetProperty("path").GetString()!,
            project.TryGetLastAnnotation<ReplicaAnnotation>(out var replicas) ? replicas.Replicas : 1,
            environment,
            ReadBindings(json),
            references);
    }

    private static PublishedBackingService ReadBackingService(string name, JsonElement json, IResource resource, DistributedApplicationModel model)
    {
        var bindings = ReadBindings(json);
        var container = new BackingServiceContainer(
            resource is RedisResource ? BackingServiceKind.Redis : BackingServiceKind.PostgreSql,
            json.GetProperty("image").GetString()!,
            json.TryGetProperty("entrypoint", out var entrypoint) ? entrypoint.GetString() : null,
            json.TryGetProperty("args", out var args) ? [.. args.EnumerateArray().Select(a => a.GetString()!)] : [],
            ReadEnvironment(json),
            bindings.Single().TargetPort,
            json.TryGetProperty("volumes", out var volumes) && volumes.GetArrayLength() > 0
                ? volumes[0].GetProperty("target").GetString()!
                : throw new InvalidOperationException($"'{name}' has no data volume: its data would not outlive its pod. Declare it with WithDataVolume()."));
        return new PublishedBackingService(
            name,
            container,
            json.GetProperty("connectionString").GetString()!,
            bindings,
            [.. model.Resources.OfType<PostgresDatabaseResource>().Where(d => d.Parent == resource).Select(d => d.Name)]);
    }

    private static List<KeyValuePair<string, string>> ReadEnvironment(JsonElement json) =>
        json.TryGetProperty("env", out var env)
            ? [.. env.EnumerateObject().Select(variable => new KeyValuePair<string, string>(variable.Name, variable.Value.GetString() ?? ""))]
            : [];

    private static List<PublishedBinding> ReadBindings(JsonElement json) =>
        json.TryGetProperty("bindings", out var bindings)
            ? [.. bindings.EnumerateObject().Select(binding => new PublishedBinding(
                binding.Name,
                binding.Value.GetProperty("scheme").GetString()!,
                binding.Value.GetProperty("transport").GetString()!,
                binding.Value.GetProperty("targetPort").GetInt32(),
                binding.Value.TryGetProperty("port", out var port) ? port.GetInt32() : null,
                binding.Value.TryGetProperty("external", out var external) && external.GetBoolean()))]
            : [];

    [GeneratedRegex(@"\{(?<resource>[a-z][a-z0-9-]*)\.")]
    private static partial Regex Placeholder();
}
