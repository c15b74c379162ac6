using System.Text.Json.Serialization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Keys;

internal enum ApiKeyState
{
    Active,
    Expired,
    Revoked,
}

/// <summary>A key as lists show it: everything but the secret and its hash.</summary>
internal sealed record ApiKeySummary(
    Guid Id,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? ExpiresAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? RevokedAt,
    RateLimitPlan? RateLimit,
    bool Bootstrap,
    ApiKeyState State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Team,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageQuota? Quota);

/// <summary>The answer to <c>POST /api/v1/keys</c>: the only time <paramref name="Key"/> is ever shown.</summary>
internal sealed record CreatedApiKey(
    Guid Id,
    string Key,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    RateLimitPlan? RateLimit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Team);

internal sealed record ApiKeyList(IReadOnlyList<ApiKeySummary> Keys);
