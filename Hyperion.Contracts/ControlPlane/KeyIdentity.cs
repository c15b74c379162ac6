namespace Hyperion.Contracts.ControlPlane;

/// <param name="KeyHash">SHA-256 of the whole key, lowercase hex (<see cref="ApiKeyFormat.HashHex"/>).</param>
public sealed record KeyLookupRequest(string KeyHash);

/// <summary>Who a valid key belongs to and what it may do.</summary>
/// <param name="RateLimit">The key's plan; null: the Gateway's defaults.</param>
/// <param name="Team">The team the key belongs to: its rights on models hold only for that team's models; null: no team.</param>
/// <param name="Quota">The key's own quota; null: none.</param>
/// <param name="TeamQuota">The quota of <paramref name="Team"/>, shared by all its keys; null: none.</param>
public sealed record KeyIdentity(
    Guid Id,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    DateTimeOffset? ExpiresAt,
    RateLimitPlan? RateLimit,
    string? Team = null,
    UsageQuota? Quota = null,
    UsageQuota? TeamQuota = null);

/// <summary>Token bucket: refills at <paramref name="RequestsPerSecond"/>, holds at most <paramref name="Burst"/>.</summary>
public sealed record RateLimitPlan(double RequestsPerSecond, int Burst);
