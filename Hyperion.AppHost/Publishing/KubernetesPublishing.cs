#pragma warning disable ASPIREPIPELINES001 // Aspire's publishing pipeline is experimental in 13.6

using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Pipelines;
using Hyperion.AppHost.Publishing.Kubernetes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// Our Kubernetes publisher as a step of Aspire's publish pipeline (Aspire.Hosting.Kubernetes is not served here):
/// <c>publish</c> runs Aspire's manifest step, which writes aspire-manifest.json, then this one, which writes the
/// k8s/ kustomize tree from that manifest. Both entry points, <c>dotnet run --project Hyperion.AppHost -- publish</c>
/// and <c>dotnet aspire publish</c>, run the same steps into the same folder.
/// </summary>
internal static class KubernetesPublishing
{
    public const string StepName = "publish-kubernetes";
    private const string ManifestStep = "publish-manifest";
    public const string ManifestFileName = "aspire-manifest.json";

    public static void AddTo(IDistributedApplicationBuilder builder)
    {
        // The manifest step is Aspire's own; a plain "publish" runs it because this step, which "publish" requires, needs it.
        builder.Pipeline.AddStep(StepName, WriteAsync, dependsOn: ManifestStep, requiredBy: WellKnownPipelineSteps.Publish);
    }

    private static async Task WriteAsync(PipelineStepContext context)
    {
        var configuration = context.Services.GetRequiredService<IConfiguration>();
        var outputPath = context.Services.GetRequiredService<IOptions<PipelineOptions>>().Value.OutputPath
            ?? throw new InvalidOperationException("--output-path DIR is required: the folder that receives aspire-manifest.json and k8s/");
        var options = PublishOptions.Bind(configuration, outputPath);
        var directory = Path.GetFullPath(options.OutputPath);
        var manifestPath = Path.Combine(directory, ManifestFileName);
        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(manifestPath, context.CancellationToken));
        var graph = PublishedGraphReader.Read(manifest, context.Model);
        var tree = KubernetesPublisher.Build(graph, options);
        var kubernetesDirectory = Path.Combine(directory, KubernetesPublisher.DirectoryName);
        var files = KubernetesPublisher.Write(tree, kubernetesDirectory);
        context.Logger.LogInformation("Wrote {Count} files under {Directory} (base, overlays/dev, overlays/prod); images {Images}",
            files.Count, kubernetesDirectory, options.ImageOf("<resource>"));
    }
}
