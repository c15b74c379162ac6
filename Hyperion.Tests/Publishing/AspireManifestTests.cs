using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.Tests.Protocol.Server;
using Hyperion.Tests.TestSupport;

namespace Hyperion.Tests.Publishing;

/// <summary>aspire-manifest.json: written by Aspire's own manifest step from the graph, and the committed copy kept current.</summary>
public sealed partial class AspireManifestTests(PublishedTreeFixture tree) : IClassFixture<PublishedTreeFixture>
{
    public const string RegenerateCommand = "dotnet run --project Hyperion.AppHost -- publish --output-path .";

    [Fact]
    public void The_committed_manifest_is_what_publish_writes()
    {
        var committedPath = Path.Combine(ServerProcess.RepositoryRoot, "aspire-manifest.json");
        var committed = File.Exists(committedPath) ? File.ReadAllText(committedPath) : "(no file)";
        // Aspire writes project paths relative to the manifest: compare them as the files they lead to.
        var expected = WithAbsolutePaths(File.ReadAllText(Path.Combine(tree.OutputDirectory, "aspire-manifest.json")), tree.OutputDirectory);
        Assert.True(expected == WithAbsolutePaths(committed, ServerProcess.RepositoryRoot),
            $"{committedPath} is stale: the graph publishes something else. Regenerate it from the repository root with\n" +
            $"  {RegenerateCommand}\nand commit it (without the k8s/ folder it also writes). What publish writes now:\n{expected}");
    }

    [Fact]
    public void Resources_have_Aspire_types_and_every_expression_points_at_something_that_exists()
    {
        var resources = tree.Manifest;
        Assert.Equal("container.v0", (string?)resources["cache"]!["type"]);
        Assert.Equal("container.v0", (string?)resources["pg"]!["type"]);
        Assert.Equal("docker.io/library/redis:7.4", (string?)resources["cache"]!["image"]); // the major version the local graph runs
        Assert.Equal("docker.io/library/postgres:15", (string?)resources["pg"]!["image"]);
        Assert.Equal("value.v0", (string?)resources["hyperion"]!["type"]);
        Assert.Equal("{pg.connectionString};Database=hyperion", (string?)resources["hyperion"]!["connectionString"]);
        foreach (var parameter in new[] { "cache-password", "pg-password" })
        {
            Assert.Equal("parameter.v0", (string?)resources[parameter]!["type"]);
            Assert.True((bool)resources[parameter]!["inputs"]!["value"]!["secret"]!);
        }
        foreach (var (project, path) in tree.Projects)
        {
            Assert.Equal("project.v0", (string?)resources[project]!["type"]);
            Assert.True(File.Exists(path), $"{project}'s path does not lead to its project");
            Assert.Equal($"{{{project}.bindings.http.targetPort}}", (string?)resources[project]!["env"]!["HTTP_PORTS"]);
        }
        Assert.Equal(["gateway", "inference", "orchestrator"], tree.Projects.Select(p => p.Name).Order());
        Assert.Equal("{hyperion.connectionString}", (string?)resources["orchestrator"]!["env"]!["ConnectionStrings__hyperion"]);
        Assert.Null(resources["gateway"]!["env"]!["ConnectionStrings__hyperion"]); // only the orchestrator touches PostgreSQL
        Assert.Null(resources["orchestrator"]!["env"]!["HYPERION_PASSWORD"]); // a reference passes the connection string, not its parts
        Assert.Equal("{inference.bindings.grpc.url}", (string?)resources["gateway"]!["env"]!["services__inference__grpc__0"]);
        Assert.Equal("http2", (string?)resources["inference"]!["bindings"]!["grpc"]!["transport"]);
        Assert.True((bool)resources["gateway"]!["bindings"]!["http"]!["external"]!);
        Assert.Equal(5080, (int)resources["gateway"]!["bindings"]!["http"]!["port"]!);
        Assert.Null(resources["orchestrator"]!["bindings"]!["http"]!["external"]);

        // Every placeholder names a resource of the manifest and something that resource has.
        var placeholders = Placeholder().Matches(resources.ToJsonString()).Select(m => (Resource: m.Groups["resource"].Value, Path: m.Groups["path"].Value)).Distinct().ToList();
        Assert.NotEmpty(placeholders);
        foreach (var (resource, path) in placeholders)
        {
            var target = resources[resource];
            Assert.True(target is not null, $"{{{resource}.{path}}} names no resource");
            var valid = path.Split('.') switch
            {
                ["connectionString"] => target!["connectionString"] is not null,
                ["value"] or ["inputs", "value"] => (string?)target!["type"] is "parameter.v0" or "annotated.string",
                ["bindings", var endpoint, "url" or "host" or "port" or "targetPort" or "scheme"] => target!["bindings"]?[endpoint] is not null,
                _ => false,
            };
            Assert.True(valid, $"{{{resource}.{path}}}: '{resource}' has no such thing");
        }
    }

    [Fact]
    public void Publishing_reads_no_local_secret_and_writes_nothing_outside_its_folder()
    {
        using var state = new TemporaryDirectory("hyperion-publish-state");
        using var output = new TemporaryDirectory("hyperion-publish-out");
        // A local state directory with generated secrets, as after `./build.sh run`.
        File.WriteAllText(Path.Combine(state.Path, "secrets.json"), """{"Parameters":{"cache-password":"LocalCacheSecret123","pg-password":"LocalPgSecret456"}}""");
        var existedBefore = Directory.Exists("/var/lib/hyperion");

        var result = AppHostPublish.Run("--output-path", output.Path, $"--Hyperion:StateDirectory={state.Path}");

        Assert.True(result.ExitCode == 0, result.Everything);
        var written = Directory.EnumerateFiles(output.Path, "*", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.DoesNotContain(written, text => text.Contains("LocalCacheSecret123", StringComparison.Ordinal) || text.Contains("LocalPgSecret456", StringComparison.Ordinal));
        Assert.Equal(["secrets.json"], Directory.EnumerateFileSystemEntries(state.Path).Select(Path.GetFileName));
        Assert.Equal(existedBefore, Directory.Exists("/var/lib/hyperion")); // no model folder made for the containers' paths
    }

    private static string WithAbsolutePaths(string manifest, string directory)
    {
        var json = JsonNode.Parse(manifest)!;
        foreach (var (_, resource) in json["resources"]!.AsObject())
        {
            if (resource!["path"] is JsonValue path)
            {
                resource["path"] = Path.GetFullPath(Path.Combine(directory, (string)path!));
            }
        }
        return json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    [GeneratedRegex(@"\{(?<resource>[a-z][a-z0-9-]*)\.(?<path>[A-Za-z0-9.]+)\}")]
    private static partial Regex Placeholder();
}
