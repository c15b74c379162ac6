using System.Text.Json.Serialization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Teams;

/// <summary>A team as <c>GET /api/v1/teams</c> shows it: who made it, and how many models and active keys are its.</summary>
internal sealed record TeamResource(
    string Name,
    string Description,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    long Models,
    long ActiveKeys,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageQuota? Quota);

/// <summary>One team with the names of its models (<c>GET /api/v1/teams/{t}</c>).</summary>
internal sealed record TeamDetail(
    string Name,
    string Description,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    long ActiveKeys,
    IReadOnlyList<string> Models,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageQuota? Quota);

internal sealed record TeamList(IReadOnlyList<TeamResource> Teams);

/// <summary>A model's team after <c>PUT /api/v1/models/{m}/team</c>.</summary>
internal sealed record ModelTeam(string Model, string? Team);

/// <summary>Whether a model exists, and its team when it has one.</summary>
internal readonly record struct ModelOwnership(bool Exists, string? Team);
