using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Hyperion.AppHost.Publishing;
using Hyperion.AppHost.Publishing.Kubernetes;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Hyperion.Tests.Protocol.Server;

namespace Hyperion.Tests.Publishing;

/// <summary>
/// The Hyperion graph published once, as users publish it (the <c>publish</c> command, in process) with a
/// registry and tag of the test's own, and its kustomizations rendered with <c>kubectl kustomize</c>.
/// </summary>
public sealed class PublishedTreeFixture : IDisposable
{
    public const string Registry = "registry.test/acme";
    public const string Tag = "1.2.3";

    private readonly TemporaryDirectory _directory = new("hyperion-publish");
    private readonly ConcurrentDictionary<string, Lazy<Task<List<JsonObject>>>> _rendered = new(StringComparer.Ordinal);

    public PublishedTreeFixture()
    {
        var result = AppHostPublish.Run("--output-path", OutputDirectory, "--registry", Registry, "--tag", Tag);
        ExitCode = result.ExitCode;
        CommandOutput = result.Everything;
    }

    public int ExitCode { get; }

    public string CommandOutput { get; }

    public string OutputDirectory => _directory.Path;

    /// <summary>What Aspire's manifest step wrote: every resource of the published graph.</summary>
    public JsonObject Manifest => JsonNode.Parse(File.ReadAllText(Path.Combine(OutputDirectory, "aspire-manifest.json")))!["resources"]!.AsObject();

    /// <summary>The published projects: name and absolute project path.</summary>
    public IEnumerable<(string Name, string ProjectPath)> Projects => Manifest
        .Where(r => ((string?)r.Value!["type"])?.StartsWith("project.", StringComparison.Ordinal) == true)
        .Select(r => (r.Key, Path.GetFullPath(Path.Combine(OutputDirectory, (string)r.Value!["path"]!))));

    public string KubernetesDirectory => Path.Combine(OutputDirectory, KubernetesPublisher.DirectoryName);

    public static string ValidatorDirectory => Path.Combine(ServerProcess.RepositoryRoot, "tools", "k8s-validate");

    /// <summary>The files that hold whole objects (kustomizations and patches are not objects).</summary>
    public IEnumerable<string> ObjectFiles => Directory
        .EnumerateFiles(KubernetesDirectory, "*.yaml", SearchOption.AllDirectories)
        .Where(path => Path.GetFileName(path) != "kustomization.yaml" && !path.EndsWith(".patch.yaml", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal);

    /// <summary><c>kubectl kustomize</c> of base, overlays/dev or overlays/prod, once per test run.</summary>
    public Task<List<JsonObject>> RenderAsync(string kustomization) =>
        _rendered.GetOrAdd(kustomization, k => new Lazy<Task<List<JsonObject>>>(() => RenderOnceAsync(k))).Value;

    public string RenderedPath(string kustomization) => Path.Combine(OutputDirectory, "rendered", kustomization.Replace('/', '-') + ".yaml");

    private async Task<List<JsonObject>> RenderOnceAsync(string kustomization)
    {
        var kubectl = ExternalTool.Require("kubectl", "Install kubectl 1.27 or later (it carries kustomize v5): https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/");
        var directory = Path.Combine(KubernetesDirectory, kustomization);
        // An operator copies each template and fills it in; empty values are what the templates carry.
        foreach (var template in Directory.EnumerateFiles(directory, "*.env.example"))
        {
            File.Copy(template, template[..^".example".Length], overwrite: true);
        }
        var result = await ExternalTool.RunAsync(kubectl, ["kustomize", directory], OutputDirectory);
        Assert.True(result.ExitCode == 0, $"kubectl kustomize {kustomization} failed:\n{result.Everything}");
        var path = RenderedPath(kustomization);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, result.Output);
        return YamlDocuments.Parse(result.Output);
    }

    public void Dispose() => _directory.Dispose();
}
