using Microsoft.Extensions.Configuration;

namespace Hyperion.AppHost.Publishing;

/// <summary>
/// <c>publish --output-path DIR [--registry R] [--tag T] [--namespace N] [--gateway-class C]</c>, the command users
/// and CI type, as Aspire's publish pipeline takes it (<c>--operation publish --step publish --output-path DIR</c>,
/// the rest as <c>--Publish:Key=value</c> settings). Other settings pass as <c>--Section:Key=value</c>, as when
/// running the graph (e.g. <c>--Hyperion:InferenceReplicas=3</c>).
/// </summary>
internal static class PublishArguments
{
    public const string Verb = "publish";

    public const string Usage =
        "usage: dotnet run --project Hyperion.AppHost -- publish --output-path DIR [--registry R] [--tag T] [--namespace N] [--gateway-class C] [--Section:Key=value ...]\n" +
        "  --output-path   folder that receives aspire-manifest.json and k8s/ (required)\n" +
        "  --registry      images are <registry>/<resource>:<tag> (default localhost:5000/hyperion)\n" +
        "  --tag           image tag (default latest)\n" +
        "  --namespace     Kubernetes namespace (default hyperion)\n" +
        "  --gateway-class the cluster's GatewayClass for the public Gateway (default nginx)\n" +
        "The same tree: dotnet aspire publish --output-path DIR";

    private static readonly Dictionary<string, string> s_settings = new(StringComparer.Ordinal)
    {
        ["--registry"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Registry)}",
        ["--tag"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Tag)}",
        ["--namespace"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.Namespace)}",
        ["--gateway-class"] = $"{PublishOptions.SectionName}:{nameof(PublishOptions.GatewayClassName)}",
    };

    /// <summary>The arguments for Aspire, or an error (and the usage) to print with exit code 2.</summary>
    /// <param name="args">Everything after <c>publish</c>.</param>
    public static (string[]? Arguments, string? Error) Translate(string[] args)
    {
        var translated = new List<string> { "--operation", "publish", "--step", "publish" };
        string? outputPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            var (name, inlineValue) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], null);
            if (name is "--output-path" || s_settings.ContainsKey(name))
            {
                var value = inlineValue ?? (i + 1 < args.Length ? args[++i] : null);
                if (string.IsNullOrWhiteSpace(value))
                {
                    return (null, $"publish: {name} needs a value.");
                }
                if (name == "--output-path")
                {
                    outputPath = Path.GetFullPath(value);
                }
                else
                {
                    translated.Add($"--{s_settings[name]}={value}");
                }
            }
            else if (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
            {
                translated.Add(args[i]);
                if (inlineValue is null && i + 1 < args.Length)
                {
                    translated.Add(args[++i]);
                }
            }
            else
            {
                return (null, $"publish: unknown option '{args[i]}'.");
            }
        }
        if (outputPath is null)
        {
            return (null, "publish: --output-path DIR is required: the folder that receives aspire-manifest.json and k8s/.");
        }
        // The values a cluster would refuse (a registry with spaces, a tag starting with '-') are a usage error, before Aspire starts.
        var settings = new ConfigurationBuilder()
            .AddCommandLine([.. translated.Where(a => a.StartsWith($"--{PublishOptions.SectionName}:", StringComparison.Ordinal))])
            .Build();
        try
        {
            PublishOptions.Bind(settings, outputPath);
        }
        catch (InvalidOperationException ex)
        {
            return (null, $"publish: {ex.Message}");
        }
        translated.AddRange(["--output-path", outputPath]);
        return ([.. translated], null);
    }
}
