using System.Text.Json.Serialization;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// The body of <c>PUT /api/v1/deployments/{m}</c> as sent: every field nullable so that a missing field is told
/// apart from a wrong one; <see cref="DeploymentSpecValidator"/> turns it into a <see cref="DeploymentSpec"/>.
/// Unknown fields are refused, here and in every part: a misspelt "canary" must not deploy without one.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record DeploymentRequest(
    long? Stable,
    CanaryRequest? Canary,
    ShadowRequest? Shadow,
    CacheRequest? Cache,
    BatchingRequest? Batching,
    int? MaxBatchSize,
    InstancesRequest? Instances,
    string? Pool,
    int? Replicas,
    MonitoringRequest? Monitoring = null)
{
    /// <summary>A good body, shown in the answer to a bad one.</summary>
    public const string Example = """{"stable": 1}""";
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record CanaryRequest(
    long? Version,
    double? Percent,
    IReadOnlyList<double>? Steps,
    int? StepSeconds,
    long? MinRequests,
    double? MaxErrorRateDelta,
    double? MaxP95LatencyRatio,
    double? MaxAccuracyDrop = null,
    double? MinAgreement = null,
    long? MinQualitySamples = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ShadowRequest(long? Version, double? Percent);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record CacheRequest(bool? Enabled, int? TtlSeconds);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record BatchingRequest(
    long? MaxQueueDelayMicroseconds,
    IReadOnlyList<int>? PreferredBatchSize,
    int? MaxQueueSize,
    long? DefaultTimeoutMicroseconds);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record InstancesRequest(int? Count, string? Kind);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record MonitoringRequest(
    double? SamplePercent,
    bool? CapturePayloads,
    int? RetentionDays,
    IReadOnlyList<string>? Redact,
    string? PredictionOutput,
    DriftRequest? Drift);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record DriftRequest(double? PsiThreshold, double? DriftedShare, long? MinRows, int? WindowMinutes);
