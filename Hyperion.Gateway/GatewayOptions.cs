using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway;

/// <summary>Section "Gateway": everything the gateway can be told. Validated at start-up (<see cref="GatewayOptionsValidator"/>); a bad value stops it with the reason.</summary>
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
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest body of a control-plane call (<c>/api/v1</c>), i.e. a model upload; streamed to the orchestrator,
    /// never buffered. Keep it at least the orchestrator's <c>Orchestrator:MaxArtifactBytes</c> plus the form's other parts.
    /// </summary>
    public long MaxControlPlaneBodyBytes { get; set; } = (1L << 30) + (64L * 1024 * 1024);

    public AuthOptions Auth { get; set; } = new();

    public RateLimitOptions RateLimiting { get; set; } = new();

    public RoutingOptions Routing { get; set; } = new();

    public CachingOptions Caching { get; set; } = new();

    public ShadowingOptions Shadowing { get; set; } = new();

    public CapturingOptions Capturing { get; set; } = new();

    public ResilienceOptions Resilience { get; set; } = new();

    public UsageOptions Usage { get; set; } = new();
}

public sealed class AuthOptions
{
    /// <summary>Health (<c>/v2/health/*</c>) and metadata (<c>GET /v2</c>, <c>GET /v2/models/...</c>) without credentials.</summary>
    public bool AllowAnonymousMetadata { get; set; }

    /// <summary>How long a key the orchestrator confirmed is trusted without asking again.</summary>
    public int KeyCacheSeconds { get; set; } = 30;

    /// <summary>How long an unknown or revoked key is refused without asking again.</summary>
    public int NegativeKeyCacheSeconds { get; set; } = 5;

    /// <summary>While the orchestrator cannot be reached, a key it confirmed is still trusted for this long.</summary>
    public int KeyStaleSeconds { get; set; } = 600;

    /// <summary>Most keys kept in the cache.</summary>
    public int KeyCacheCapacity { get; set; } = 10_000;

    /// <summary>How long one lookup at the orchestrator may take.</summary>
    public int LookupTimeoutMilliseconds { get; set; } = 2_000;

    /// <summary>JWTs accepted beside API keys (none while neither Authority nor SigningKey is set).</summary>
    public JwtIssuerOptions Jwt { get; set; } = new();
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

    public int RedisTimeoutMilliseconds { get; set; } = 250;

    /// <summary>
    /// A busy caller's check may take several tokens from the shared bucket at once (at most 1/16 of the burst) and
    /// spend them on its next requests without asking Redis (see <c>TokenLeases</c>); false: every request asks Redis.
    /// </summary>
    public bool Leasing { get; set; } = true;

    /// <summary>How long leased tokens stay usable; unspent ones are then dropped.</summary>
    public int LeaseMilliseconds { get; set; } = 1_000;
}

public sealed class PlanOptions
{
    public double RequestsPerSecond { get; set; }

    public int Burst { get; set; }

    public RateLimitPlan ToPlan() => new(RequestsPerSecond, Burst);
}

public sealed class RoutingOptions
{
    /// <summary>Routing table refetched this often even without a change notice.</summary>
    public int RefreshSeconds { get; set; } = 10;

    public int FetchTimeoutMilliseconds { get; set; } = 3_000;
}

public sealed class CachingOptions
{
    /// <summary>Requests with larger bodies are not cached (the body must be read whole to compute the key).</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Responses larger than this are not stored.</summary>
    public int MaxResponseBytes { get; set; } = 1024 * 1024;

    public int RedisTimeoutMilliseconds { get; set; } = 250;
}

public sealed class ShadowingOptions
{
    /// <summary>Copies waiting to be sent; more are dropped (and counted), never waited for.</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>Copies in flight at once.</summary>
    public int Concurrency { get; set; } = 4;

    /// <summary>Requests or responses larger than this are not copied.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    public int TimeoutMilliseconds { get; set; } = 10_000;
}

/// <summary>Capture of sampled inference traffic for model monitoring (a deployment's <c>monitoring.sample_percent</c>).</summary>
public sealed class CapturingOptions
{
    /// <summary>Captures waiting to be written to Redis; more are dropped (and counted), never waited for.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Requests or responses larger than this are not captured.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The capture stream is trimmed to about this many entries (what the orchestrator has not read by then is lost).</summary>
    public int StreamMaxLength { get; set; } = 100_000;
}

public sealed class ResilienceOptions
{
    /// <summary>An upstream that sends nothing for this long is given up on (504).</summary>
    public int UpstreamTimeoutSeconds { get; set; } = 30;

    /// <summary>Further replicas tried when connecting to one failed before anything was sent.</summary>
    public int ConnectRetries { get; set; } = 2;

    public int ActiveHealthIntervalSeconds { get; set; } = 5;

    public int ActiveHealthTimeoutSeconds { get; set; } = 2;

    /// <summary>Consecutive failures (transport errors, 502/503/504) that open a replica's circuit.</summary>
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>How long an open circuit keeps the replica out before one trial request is let through (half-open).</summary>
    public int BreakerCooldownSeconds { get; set; } = 10;
}

/// <summary>Usage metering (requests, rows, compute time per key, team and model, counted in Redis) and quotas.</summary>
public sealed class UsageOptions
{
    /// <summary>Off: nothing is counted and no quota is enforced.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the counts kept in memory are added to Redis (what a gateway that stops abruptly loses at most).</summary>
    public int FlushMilliseconds { get; set; } = 1_000;

    /// <summary>When Redis cannot be asked whether a quota is used up: refuse (503) rather than let the request through.</summary>
    public bool QuotaFailClosed { get; set; }
}
