using System.Text.Json.Nodes;
using Hyperion.Orchestrator.Registry.Lineage;

namespace Hyperion.Orchestrator.Registry;

/// <summary>A registered model, as the API shows it.</summary>
/// <param name="LatestVersion">Null while the model has no version.</param>
/// <param name="Team">The team the model belongs to (a team's keys act only on its models); null: no team.</param>
internal sealed record ModelResource(
    string Name,
    string Task,
    string Description,
    IReadOnlyDictionary<string, string> Tags,
    string Owner,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long VersionCount,
    long? LatestVersion,
    ModelPolicy Policy,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Team);

/// <summary>
/// A model's approval policy (<c>GET|PUT /api/v1/models/{m}/policy</c>, and <c>policy</c> in the model's views).
/// </summary>
/// <param name="RequireApproval">The move of a version to production must be made by a key with the <c>approve</c>
/// scope that did not upload it, and a deployment's stable must be a production version.</param>
internal sealed record ModelPolicy(bool RequireApproval);

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
    ModelPolicy Policy,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Team,
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
        Policy: model.Policy,
        Team: model.Team,
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

    /// <summary>Every move of this version between stages, oldest first, with who made it and why (<c>GET</c> of one version only).</summary>
    public IReadOnlyList<StageChange>? StageHistory { get; init; }

    /// <summary>The lineage as the registry reads it (git commit, datasets, parameters, metrics, parent, run), beside the lineage as given.</summary>
    public NormalizedLineage LineageNormalized => LineageReader.Read(Lineage as JsonObject ?? []);
}

/// <summary>One move of a version between stages, as its <c>version.stage_changed</c> audit entry records it.</summary>
/// <param name="ApprovedBy">The approver, when the model's policy required an approval for this move (the actor then).</param>
internal sealed record StageChange(VersionStage From, VersionStage To, string Actor, string? Reason, DateTimeOffset At, string? ApprovedBy);

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
