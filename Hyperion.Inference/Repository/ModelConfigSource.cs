using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Contracts.Models;

namespace Hyperion.Inference.Repository;

/// <summary>A model's config as its repository folder gives it, before auto-complete.</summary>
/// <param name="MaxBatchSizeGiven">False when the file leaves <c>max_batch_size</c> out, so auto-complete decides it.</param>
/// <param name="Fingerprint">Changes whenever the file does; a reload reloads every version when it changed.</param>
internal sealed record ModelConfigSource(ModelConfig Config, bool FromFile, bool MaxBatchSizeGiven, string Fingerprint)
{
    public const string FileName = "config.json";

    // Unknown fields fail the load, as in Triton: a misspelt setting must not be silently ignored.
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static ModelConfigSource Read(string modelDirectory, string modelName)
    {
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
        {
            return new ModelConfigSource(new ModelConfig { Name = modelName }, FromFile: false, MaxBatchSizeGiven: false, Fingerprint: "");
        }
        return Parse(File.ReadAllBytes(path), FileName);
    }

    /// <summary>
    /// The config one version loads with: <c>&lt;version&gt;/config.json</c> when that file exists (it replaces the
    /// model's config whole, so versions of one model can differ in inputs, batching or instances, as the control
    /// plane stores them), otherwise <paramref name="modelSource"/>. Which versions load stays the model config's
    /// <c>version_policy</c>, so a version's file must not carry one.
    /// </summary>
    public static ModelConfigSource ReadForVersion(string modelDirectory, long version, ModelConfigSource modelSource)
    {
        var relative = $"{version.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{FileName}";
        var path = Path.Combine(modelDirectory, relative);
        if (!File.Exists(path))
        {
            return modelSource;
        }
        var source = Parse(File.ReadAllBytes(path), relative);
        if (source.Config.VersionPolicy is not null)
        {
            throw new ModelLoadException($"{relative} sets version_policy; which versions load is decided by the model's {FileName} only");
        }
        return source;
    }

    private static ModelConfigSource Parse(byte[] bytes, string fileName)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"{fileName} must hold a JSON object, got {document.RootElement.ValueKind}");
            }
            var config = document.RootElement.Deserialize<ModelConfig>(JsonOptions)
                ?? throw new ModelLoadException($"{fileName} is empty");
            var maxBatchSizeGiven = document.RootElement.TryGetProperty("max_batch_size", out _);
            return new ModelConfigSource(Normalize(config), FromFile: true, maxBatchSizeGiven, Convert.ToHexString(SHA256.HashData(bytes)));
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"{fileName} is not a valid model config: {ex.Message}", ex);
        }
    }

    // "input": null and friends deserialize to null despite the non-nullable defaults.
    private static ModelConfig Normalize(ModelConfig config) => config with
    {
        Input = config.Input ?? [],
        Output = config.Output ?? [],
        InstanceGroup = config.InstanceGroup is null
            ? []
            : [.. config.InstanceGroup.Select(group => group.Gpus is null ? group with { Gpus = [] } : group)],
        DynamicBatching = config.DynamicBatching is { PreferredBatchSize: null } batching
            ? batching with { PreferredBatchSize = [] }
            : config.DynamicBatching,
    };
}
