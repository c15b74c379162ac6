using System.Text.Json;
using System.Text.Json.Serialization;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// The body of <c>PUT /api/v1/deployments/{m}</c> as sent: every field nullable so that a missing field is told
/// apart from a wrong one; <see cref="DeploymentSpecValidator"/> turns it into a <see cref="DeploymentSpec"/>.
/// </summary>
internal sealed record DeploymentRequest(
    long? Stable,
    CanaryRequest? Canary,
    ShadowRequest? Shadow,
    CacheRequest? Cache,
    BatchingRequest? Batching,
    int? MaxBatchSize,
    InstancesRequest? Instances,
    string? Pool,
    int? Replicas)
{
    /// <summary>
    /// The control plane's wire format, refusing fields it does not know: a misspelt "canary" must not deploy
    /// without one.
    /// </summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(ControlPlaneJson.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
    };
}

internal sealed record CanaryRequest(
    long? Version,
    double? Percent,
    IReadOnlyList<double>? Steps,
    int? StepSeconds,
    long? MinRequests,
    double? MaxErrorRateDelta,
    double? MaxP95LatencyRatio);

internal sealed record ShadowRequest(long? Version, double? Percent);

internal sealed record CacheRequest(bool? Enabled, int? TtlSeconds);

internal sealed record BatchingRequest(
    long? MaxQueueDelayMicroseconds,
    IReadOnlyList<int>? PreferredBatchSize,
    int? MaxQueueSize,
    long? DefaultTimeoutMicroseconds);

internal sealed record InstancesRequest(int? Count, string? Kind);
