using Hyperion.AppHost.Hosting;
using Hyperion.AppHost.Publishing.Kubernetes;
using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// <c>publish --output-path DIR [--registry R] [--tag T] [--namespace N] [--gateway-class C]</c>: declares the graph
/// in publish mode and writes DIR/aspire-manifest.json and DIR/k8s/. Other settings pass as
/// <c>--Section:Key=value</c>, as when running the graph (e.g. <c>--Hyperion:InferenceReplicas=3</c>).
/// </summary>
public static class PublishCommand
{
    public const string Verb = "publish";

    public const string Usage =
        "usage: dotnet run --project Hyperion.AppHost -- publish --output-path DIR [--registry R] [--tag T] [--namespace N] [--gateway-class C] [--Section:Key=value ...]\n" +
        "  --output-path   folder that receives aspire-manifest.json and k8s/ (required)\n" +
        "  --registry      images are <registry>/<resource>:<tag> (default localhost:5000/hyperion)\n" +
        "  --tag           image tag (default latest)\n" +
        "  --namespace     Kubernetes namespace (default hyperion)\n" +
        "  --gateway-class the cluster's GatewayClass for the public Gateway (default nginx)";

    private static readonly Dictionary<string, string> s_switches = new(StringComparer.Ordinal)
    {
        ["--output-path"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.OutputPath)}",
        ["--registry"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Registry)}",
        ["--tag"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Tag)}",
        ["--namespace"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Namespace)}",
        ["--gateway-class"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.GatewayClassName)}",
    };

    /// <param name="args">The arguments after <c>publish</c>.</param>
    /// <returns>0 when written, 1 when the graph or a setting is wrong, 2 for a usage error.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args is ["--help" or "-h"])
        {
            output.WriteLine(Usage);
            return 0;
        }
        if (FindUnknownSwitch(args) is { } unknown)
        {
            error.WriteLine($"publish: unknown option '{unknown}'.");
            error.WriteLine(Usage);
            return 2;
        }
        PublishOptions options;
        try
        {
            options = BindOptions(args);
        }
        catch (InvalidOperationException ex)
        {
            error.WriteLine($"publish: {ex.Message}");
            error.WriteLine(Usage);
            return 2;
        }
        try
        {
            var outputDirectory = Path.GetFullPath(options.OutputPath);
            var graph = Declare(args);
            // Everything is generated before anything is written: a graph that cannot be published leaves no half.
            var manifest = AspireManifestWriter.Write(graph, outputDirectory);
            var tree = KubernetesPublisher.Build(graph, options);
            Directory.CreateDirectory(outputDirectory);
            var manifestPath = Path.Combine(outputDirectory, AspireManifestWriter.FileName);
            File.WriteAllText(manifestPath, manifest);
            var kubernetesDirectory = Path.Combine(outputDirectory, KubernetesPublisher.DirectoryName);
            var files = KubernetesPublisher.Write(tree, kubernetesDirectory);
            output.WriteLine($"Wrote {manifestPath}");
            output.WriteLine($"Wrote {files.Count} files under {kubernetesDirectory} (base, overlays/dev, overlays/prod); images {options.ImageOf("<resource>")}");
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            // A graph that cannot be published, or a folder that cannot be written: the message says what to change.
            error.WriteLine($"publish: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The graph exactly as Program.cs declares it, in publish mode: container paths, manifest expressions.</summary>
    internal static PublishedGraph Declare(string[] args)
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            // The graph's own settings (--Hyperion:InferenceReplicas=3) apply; publish's switches mean nothing to it.
            Args = args,
            IsPublishMode = true,
            Settings = new Dictionary<string, string?> { [$"{HostingOptions.SectionName}:{nameof(HostingOptions.StateDirectory)}"] = ContainerPaths.State },
        });
        HyperionGraph.Declare(builder);
        return PublishedGraphReader.Read(builder);
    }

    internal static PublishOptions BindOptions(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args, s_switches)
            .Build();
        var options = new PublishOptions();
        configuration.GetSection(PublishOptions.SectionName).Bind(options);
        DistributedApplicationBuilder.Validate(options, PublishOptions.SectionName);
        return options;
    }

    /// <summary>Only this command's switches and <c>--Section:Key</c> settings; a typo must not pass silently.</summary>
    private static string? FindUnknownSwitch(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (s_switches.ContainsKey(name))
            {
                if (!args[i].Contains('=', StringComparison.Ordinal))
                {
                    i++; // its value
                }
                continue;
            }
            if (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
            {
                if (!args[i].Contains('=', StringComparison.Ordinal))
                {
                    i++;
                }
                continue;
            }
            return args[i];
        }
        return null;
    }
}
