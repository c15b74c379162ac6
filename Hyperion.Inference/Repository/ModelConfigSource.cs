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
        var bytes = File.ReadAllBytes(path);
        try
        {
            using var document = JsonDocument.Parse(bytes, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"{FileName} must hold a JSON object, got {document.RootElement.ValueKind}");
            }
            var config = document.RootElement.Deserialize<ModelConfig>(JsonOptions)
                ?? throw new ModelLoadException($"{FileName} is empty");
            var maxBatchSizeGiven = document.RootElement.TryGetProperty("max_batch_size", out _);
            return new ModelConfigSource(Normalize(config), FromFile: true, maxBatchSizeGiven, Convert.ToHexString(SHA256.HashData(bytes)));
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"{FileName} is not a valid model config: {ex.Message}", ex);
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
