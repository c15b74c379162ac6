using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.AppHost;
using Hyperion.AppHost.Publishing;
using Hyperion.AppHost.Publishing.Kubernetes;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.Publishing;

/// <summary>aspire-manifest.json: Aspire's format, written from the graph, and the committed copy kept current.</summary>
public sealed partial class AspireManifestTests
{
    public const string RegenerateCommand = "dotnet run --project Hyperion.AppHost -- publish --output-path .";

    [Fact]
    public void The_committed_manifest_is_what_publish_writes()
    {
        var committedPath = Path.Combine(ServerProcess.RepositoryRoot, AspireManifestWriter.FileName);
        var expected = AspireManifestWriter.Write(PublishCommand.Declare([]), ServerProcess.RepositoryRoot);
        var committed = File.Exists(committedPath) ? File.ReadAllText(committedPath) : "(no file)";
        Assert.True(expected == committed,
            $"{committedPath} is stale: the graph publishes something else. Regenerate it from the repository root with\n" +
            $"  {RegenerateCommand}\nand commit it. What publish writes now:\n{expected}");
    }

    [Fact]
    public void Resources_have_Aspire_types_and_every_expression_points_at_something_that_exists()
    {
        var manifest = Manifest(out var directory);
        var resources = manifest["resources"]!.AsObject();
        Assert.Equal(["cache-password", "cache", "pg-password", "pg", "hyperion", "orchestrator", "inference", "gateway"], resources.Select(r => r.Key));
        Assert.Equal("container.v0", (string?)resources["cache"]!["type"]);
        Assert.Equal("container.v0", (string?)resources["pg"]!["type"]);
        Assert.Equal("value.v0", (string?)resources["hyperion"]!["type"]);
        Assert.Equal("{pg.connectionString};Database=hyperion", (string?)resources["hyperion"]!["connectionString"]);
        Assert.Equal("{cache.bindings.tcp.host}:{cache.bindings.tcp.port},password={cache-password.value}", (string?)resources["cache"]!["connectionString"]);
        foreach (var parameter in new[] { "cache-password", "pg-password" })
        {
            var input = resources[parameter]!["inputs"]!["value"]!;
            Assert.Equal("parameter.v0", (string?)resources[parameter]!["type"]);
            Assert.Equal($"{{{parameter}.inputs.value}}", (string?)resources[parameter]!["value"]);
            Assert.True((bool)input["secret"]!);
            Assert.Equal(24, (int)input["default"]!["generate"]!["minLength"]!);
        }
        foreach (var project in new[] { "orchestrator", "inference", "gateway" })
        {
            Assert.Equal("project.v0", (string?)resources[project]!["type"]);
            Assert.True(File.Exists(Path.Combine(directory, (string)resources[project]!["path"]!)), $"{project}'s path does not lead to its project");
            Assert.Equal($"{{{project}.bindings.http.targetPort}}", (string?)resources[project]!["env"]!["HTTP_PORTS"]);
        }
        Assert.Equal("{hyperion.connectionString}", (string?)resources["orchestrator"]!["env"]!["ConnectionStrings__hyperion"]);
        Assert.Null(resources["gateway"]!["env"]!["ConnectionStrings__hyperion"]); // only the orchestrator touches PostgreSQL
        Assert.Equal("{inference.bindings.grpc.url}", (string?)resources["gateway"]!["env"]!["services__inference__grpc__0"]);
        Assert.Equal("http2", (string?)resources["inference"]!["bindings"]!["grpc"]!["transport"]);
        Assert.True((bool)resources["gateway"]!["bindings"]!["http"]!["external"]!);
        Assert.Null(resources["orchestrator"]!["bindings"]!["http"]!["external"]);

        // Every placeholder names a resource of the manifest and something that resource has.
        var text = manifest.ToJsonString();
        var placeholders = Placeholder().Matches(text).Select(m => (Resource: m.Groups["resource"].Value, Path: m.Groups["path"].Value)).Distinct().ToList();
        Assert.NotEmpty(placeholders);
        foreach (var (resource, path) in placeholders)
        {
            var target = resources[resource];
            Assert.True(target is not null, $"{{{resource}.{path}}} names no resource");
            var valid = path.Split('.') switch
            {
                ["connectionString"] => target!["connectionString"] is not null,
                ["value"] or ["inputs", "value"] => (string?)target!["type"] == "parameter.v0",
                ["bindings", var endpoint, "url" or "host" or "port" or "targetPort"] => target!["bindings"]?[endpoint] is not null,
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
        var existedBefore = Directory.Exists(ContainerPaths.State);

        var exitCode = PublishCommand.Run(["--output-path", output.Path, $"--AppHost:StateDirectory={state.Path}"], TextWriter.Null, TextWriter.Null);

        Assert.Equal(0, exitCode);
        var written = Directory.EnumerateFiles(output.Path, "*", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.DoesNotContain(written, text => text.Contains("LocalCacheSecret123", StringComparison.Ordinal) || text.Contains("LocalPgSecret456", StringComparison.Ordinal));
        Assert.Equal(["secrets.json"], Directory.EnumerateFileSystemEntries(state.Path).Select(Path.GetFileName));
        Assert.Equal(existedBefore, Directory.Exists(ContainerPaths.State)); // no model folder made for the containers' paths
    }

    [Fact]
    public void What_the_graph_gains_is_published_without_a_change_to_the_publisher()
    {
        // A helper adds an endpoint, a variable and a secret the way HyperionGraph would.
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            IsPublishMode = true,
            Settings = new Dictionary<string, string?> { ["AppHost:StateDirectory"] = ContainerPaths.State },
        });
        HyperionGraph.Declare(builder);
        var apiKey = builder.AddParameter("upstream-api-key");
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "gateway"))
            .WithHttpEndpoint(name: "stream")
            .WithEndpoint("stream", endpoint => endpoint.Transport = "http2")
            .WithExternalHttpEndpoints()
            .WithEnvironment("Gateway__Greeting", "hello $(not a variable)")
            .WithEnvironment(context => context.EnvironmentVariables["Gateway__UpstreamKey"] = apiKey.Resource.Value);
        var graph = PublishedGraphReader.Read(builder);
        var bindings = graph.Projects.Single(p => p.Name == "gateway").Bindings;
        var port = bindings.Single(b => b.Name == "stream").TargetPort;
        Assert.Equal(bindings.Count, bindings.Select(b => b.TargetPort).Distinct().Count()); // a port of its own
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var manifest = JsonNode.Parse(AspireManifestWriter.Write(graph, ServerProcess.RepositoryRoot))!["resources"]!;
        Assert.Equal("parameter.v0", (string?)manifest["upstream-api-key"]!["type"]);
        Assert.Equal("{upstream-api-key.value}", (string?)manifest["gateway"]!["env"]!["Gateway__UpstreamKey"]);
        Assert.Equal(port, (int)manifest["gateway"]!["bindings"]!["stream"]!["targetPort"]!);
        Assert.Equal("http2", (string?)manifest["gateway"]!["bindings"]!["stream"]!["transport"]);
        Assert.True((bool)manifest["gateway"]!["bindings"]!["stream"]!["external"]!);

        var files = KubernetesPublisher.Build(graph, new PublishOptions { OutputPath = "unused" }).ToDictionary(f => f.Path, f => f.Render());
        var gateway = YamlDocuments.Parse(files["base/gateway.yaml"]);
        var service = gateway.Single(o => o.Kind() == "Service");
        Assert.Contains(service["spec"]!["ports"].Objects(), p => (string?)p["name"] == "stream" && (string?)p["port"] == portText && (string?)p["appProtocol"] == "kubernetes.io/h2c");
        var variables = gateway.Single(o => o.Kind() == "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["env"].Objects().ToList();
        Assert.Equal("hello $$(not a variable)", (string?)variables.Single(v => (string?)v["name"] == "Gateway__Greeting")["value"]); // literal, not expanded
        Assert.DoesNotContain(variables, v => (string?)v["name"] == "Gateway__UpstreamKey"); // a secret: only in the overlays

        foreach (var overlay in new[] { KubernetesPublisher.DevOverlay, KubernetesPublisher.ProdOverlay })
        {
            var patch = YamlDocuments.Parse(files[$"{overlay}/gateway-environment.patch.yaml"]).Single();
            var added = patch["spec"]!["template"]!["spec"]!["containers"]![0]!["env"].Objects().ToDictionary(v => (string)v["name"]!);
            Assert.Equal("$(PARAM_UPSTREAM_API_KEY)", (string?)added["Gateway__UpstreamKey"]!["value"]);
            Assert.Equal("upstream-api-key", (string?)added["PARAM_UPSTREAM_API_KEY"]!["valueFrom"]!["secretKeyRef"]!["key"]);
            Assert.Contains("upstream-api-key=\n", files[$"{overlay}/{ParameterSources.SecretFile}.example"]);
        }
        // Public: open to anyone on its port, with a listener and a gRPC route of its own.
        var policies = YamlDocuments.Parse(files["base/network-policies.yaml"]);
        var gatewayPolicy = policies.Single(p => p.Name() == "gateway-traffic");
        Assert.Contains(gatewayPolicy["spec"]!["ingress"].Objects().Where(r => r["from"] is null).SelectMany(r => r["ports"].Objects()), p => (string?)p["port"] == portText);
        var routes = YamlDocuments.Parse(files["base/public-routes.yaml"]);
        Assert.Contains(routes.Single(o => o.Kind() == "Gateway")["spec"]!["listeners"].Objects(), l => (string?)l["name"] == "gateway-stream" && (string?)l["port"] == portText);
        var grpcRoute = routes.Single(o => o.Kind() == "GRPCRoute" && o.Name() == "gateway-stream");
        Assert.Equal(portText, (string?)grpcRoute["spec"]!["rules"]![0]!["backendRefs"]![0]!["port"]);
    }

    [Fact]
    public void A_per_replica_value_is_refused_when_publishing_with_the_reason()
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { IsPublishMode = true });
        HyperionGraph.Declare(builder);
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "gateway"))
            .WithEnvironment(context => context.EnvironmentVariables["Gateway__Instance"] = $"gateway-{context.ReplicaIndex}");

        var error = Assert.Throws<InvalidOperationException>(() => PublishedGraphReader.Read(builder));

        Assert.Contains("'gateway' reads ReplicaIndex while the graph is published", error.Message);
    }

    private static JsonObject Manifest(out string directory)
    {
        directory = ServerProcess.RepositoryRoot;
        return JsonNode.Parse(AspireManifestWriter.Write(PublishCommand.Declare([]), directory))!.AsObject();
    }

    [GeneratedRegex(@"\{(?<resource>[a-z][a-z0-9-]*)\.(?<path>[A-Za-z0-9.]+)\}")]
    private static partial Regex Placeholder();
}
