using System.ComponentModel.DataAnnotations;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway;

/// <summary>Section "Gateway": everything the gateway can be told. Validated at start-up; a bad value stops it with the reason.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Where gRPC (cleartext HTTP/2, prior knowledge) is served, e.g. <c>http://127.0.0.1:5081</c>; empty: no gRPC.</summary>
    public string? GrpcUrl { get; set; }

    /// <summary>
    /// Requests are read, forwarded and answered on the socket threads instead of being handed to the thread pool at
    /// each step (see <c>InlineIoExtensions</c>); the request path never blocks. Off: the default ASP.NET Core scheduling.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>
    /// The forwarding client's own <c>http.client.*</c> metrics (per replica: request duration, open connections).
    /// Off by default: recording them is about a twentieth of the gateway's work per request, and the per-arm metrics
    /// (<c>hyperion_gateway_arm_*</c>) and each replica's <c>http.server.*</c> already say how forwarding goes.
    /// </summary>
    public bool ForwarderClientMetrics { get; set; }

    /// <summary>Largest request body; larger ones get 413 before anything is forwarded.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest body of a control-plane call (<c>/api/v1</c>), i.e. a model upload; streamed to the orchestrator,
    /// never buffered. Keep it at least the orchestrator's <c>Orchestrator:MaxArtifactBytes</c> plus the form's other parts.
    /// </summary>
    [Range(1024, long.MaxValue)]
    public long MaxControlPlaneBodyBytes { get; set; } = (1L << 30) + (64L * 1024 * 1024);

    public AuthOptions Auth { get; set; } = new();

    public RateLimitOptions RateLimiting { get; set; } = new();

    public RoutingOptions Routing { get; set; } = new();

    public CachingOptions Caching { get; set; } = new();

    public ShadowingOptions Shadowing { get; set; } = new();

    public ResilienceOptions Resilience { get; set; } = new();
}

public sealed class AuthOptions
{
    /// <summary>Health (<c>/v2/health/*</c>) and metadata (<c>GET /v2</c>, <c>GET /v2/models/...</c>) without credentials.</summary>
    public bool AllowAnonymousMetadata { get; set; }

    /// <summary>How long a key the orchestrator confirmed is trusted without asking again.</summary>
    [Range(1, 3600)]
    public int KeyCacheSeconds { get; set; } = 30;

    /// <summary>How long an unknown or revoked key is refused without asking again.</summary>
    [Range(0, 600)]
    public int NegativeKeyCacheSeconds { get; set; } = 5;

    /// <summary>While the orchestrator cannot be reached, a key it confirmed is still trusted for this long.</summary>
    [Range(0, 86400)]
    public int KeyStaleSeconds { get; set; } = 600;

    /// <summary>Most keys kept in the cache.</summary>
    [Range(16, 10_000_000)]
    public int KeyCacheCapacity { get; set; } = 10_000;

    /// <summary>How long one lookup at the orchestrator may take.</summary>
    [Range(50, 60_000)]
    public int LookupTimeoutMilliseconds { get; set; } = 2_000;

    public JwtOptions Jwt { get; set; } = new();
}

/// <summary>JWT bearer tokens from one issuer: either its <see cref="Authority"/> (keys from its OpenID metadata) or a symmetric <see cref="SigningKey"/>.</summary>
public sealed class JwtOptions
{
    public string? Authority { get; set; }

    /// <summary>HS256 key (at least 32 bytes of UTF-8).</summary>
    public string? SigningKey { get; set; }

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>The claim that carries scopes: one scope per claim, or several separated by spaces.</summary>
    public string ScopeClaim { get; set; } = Scopes.ClaimType;

    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);
}

public sealed class RateLimitOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>When Redis cannot be asked: false (default) lets the request through and counts it; true refuses it with 503.</summary>
    public bool FailClosed { get; set; }

    /// <summary>The bucket of a key without a plan of its own (and of JWT subjects).</summary>
    public PlanOptions Default { get; set; } = new() { RequestsPerSecond = 100, Burst = 200 };

    /// <summary>An extra bucket per key and model, so one model cannot use up a key's whole plan; null: the key's plan applies per model too.</summary>
    public PlanOptions? PerModel { get; set; }

    [Range(10, 10_000)]
    public int RedisTimeoutMilliseconds { get; set; } = 250;

    /// <summary>
    /// A busy caller's check may take several tokens from the shared bucket at once (at most 1/16 of the burst) and
    /// spend them on its next requests without asking Redis (see <c>TokenLeases</c>); false: every request asks Redis.
    /// </summary>
    public bool Leasing { get; set; } = true;

    /// <summary>How long leased tokens stay usable; unspent ones are then dropped.</summary>
    [Range(10, 60_000)]
    public int LeaseMilliseconds { get; set; } = 1_000;
}

public sealed class PlanOptions
{
    [Range(0.001, 1_000_000)]
    public double RequestsPerSecond { get; set; }

    [Range(1, 10_000_000)]
    public int Burst { get; set; }

    public RateLimitPlan ToPlan() => new(RequestsPerSecond, Burst);
}

public sealed class RoutingOptions
{
    /// <summary>Routing table refetched this often even without a change notice.</summary>
    [Range(1, 3600)]
    public int RefreshSeconds { get; set; } = 10;

    [Range(50, 60_000)]
    public int FetchTimeoutMilliseconds { get; set; } = 3_000;
}

public sealed class CachingOptions
{
    /// <summary>Requests with larger bodies are not cached (the body must be read whole to compute the key).</summary>
    [Range(0, 64L * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Responses larger than this are not stored.</summary>
    [Range(0, 64L * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 1024 * 1024;

    [Range(10, 10_000)]
    public int RedisTimeoutMilliseconds { get; set; } = 250;

    /// <summary>
    /// A busy caller's check may take several tokens from the shared bucket at once (at most 1/16 of the burst) and
    /// spend them on its next requests without asking Redis (see <c>TokenLeases</c>); false: every request asks Redis.
    /// </summary>
    public bool Leasing { get; set; } = true;

    /// <summary>How long leased tokens stay usable; unspent ones are then dropped.</summary>
    [Range(10, 60_000)]
    public int LeaseMilliseconds { get; set; } = 1_000;
}

public sealed class ShadowingOptions
{
    /// <summary>Copies waiting to be sent; more are dropped (and counted), never waited for.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 256;

    /// <summary>Copies in flight at once.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    /// <summary>Requests or responses larger than this are not copied.</summary>
    [Range(1024, 64L * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    [Range(50, 600_000)]
    public int TimeoutMilliseconds { get; set; } = 10_000;
}

public sealed class ResilienceOptions
{
    /// <summary>An upstream that sends nothing for this long is given up on (504).</summary>
    [Range(1, 3600)]
    public int UpstreamTimeoutSeconds { get; set; } = 30;

    /// <summary>Further replicas tried when connecting to one failed before anything was sent.</summary>
    [Range(0, 16)]
    public int ConnectRetries { get; set; } = 2;

    [Range(1, 3600)]
    public int ActiveHealthIntervalSeconds { get; set; } = 5;

    [Range(1, 600)]
    public int ActiveHealthTimeoutSeconds { get; set; } = 2;

    /// <summary>Consecutive failures (transport errors, 502/503/504) that open a replica's circuit.</summary>
    [Range(1, 1000)]
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>How long an open circuit keeps the replica out before one trial request is let through (half-open).</summary>
    [Range(1, 3600)]
    public int BreakerCooldownSeconds { get; set; } = 10;
}
