using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Registry.Lineage;

namespace Hyperion.Orchestrator.Registry;

/// <summary>A registered model, as the API shows it.</summary>
/// <param name="LatestVersion">Null while the model has no version.</param>
internal sealed record ModelResource(
    string Name,
    string Task,
    string Description,
    IReadOnlyDictionary<string, string> Tags,
    string Owner,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long VersionCount,
    long? LatestVersion);

/// <summary>A model with its versions, newest first (<c>GET /api/v1/models/{m}</c>).</summary>
internal sealed record ModelDetail(
    string Name,
    string Task,
    string Description,
    IReadOnlyDictionary<string, string> Tags,
    string Owner,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long VersionCount,
    long? LatestVersion,
    IReadOnlyList<VersionSummary> Versions)
{
    public static ModelDetail Of(ModelResource model, IReadOnlyList<VersionSummary> versions) => new(
        Name: model.Name,
        Task: model.Task,
        Description: model.Description,
        Tags: model.Tags,
        Owner: model.Owner,
        CreatedAt: model.CreatedAt,
        UpdatedAt: model.UpdatedAt,
        VersionCount: model.VersionCount,
        LatestVersion: model.LatestVersion,
        Versions: versions);
}

internal sealed record VersionSummary(long Version, string Digest, long SizeBytes, string CreatedBy, DateTimeOffset CreatedAt, VersionStage Stage);

/// <summary>One immutable version: its artifact (by digest), config, signature, lineage and baseline profile.</summary>
internal sealed record VersionResource(
    string Model,
    long Version,
    string Digest,
    long SizeBytes,
    string Format,
    JsonNode Config,
    JsonNode Signature,
    JsonNode Lineage,
    JsonNode? BaselineProfile,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    VersionStage Stage)
{
    /// <summary>Where the artifact's bytes are downloaded from.</summary>
    public string ArtifactUrl => $"/api/v1/models/{Uri.EscapeDataString(Model)}/versions/{Version}/artifact";

    /// <summary>The lineage as the registry reads it (git commit, datasets, parameters, metrics, parent, run), beside the lineage as given.</summary>
    public NormalizedLineage LineageNormalized => LineageReader.Read(Lineage as JsonObject ?? []);
}

/// <summary>A version to insert once its artifact is stored and validated; the number is assigned on insert.</summary>
internal sealed record NewVersion(
    string Model,
    string Digest,
    long SizeBytes,
    string Format,
    string ConfigJson,
    string SignatureJson,
    string LineageJson,
    string? BaselineProfileJson,
    string CreatedBy);
