using System.Text.Json.Serialization;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// A deployment as stored in <c>deployment_revisions.spec</c> (snake_case JSON): what the user asked for, with
/// defaults filled in (pool, shadow percent, cache TTL), so two requests that mean the same store the same spec.
/// </summary>
/// <param name="Stable">The version that takes the traffic no canary takes.</param>
/// <param name="MaxBatchSize">Overrides the versions' <c>max_batch_size</c>.</param>
/// <param name="Replicas">How many of the pool's live replicas hold the deployment; null: all of them.</param>
internal sealed record DeploymentSpec(
    long Stable,
    CanarySpec? Canary,
    ShadowSpec? Shadow,
    CacheSpec? Cache,
    BatchingSpec? Batching,
    int? MaxBatchSize,
    InstancesSpec? Instances,
    string Pool,
    int? Replicas,
    MonitoringSpec? Monitoring = null)
{
    public const string DefaultPool = "cpu";

    /// <summary>The versions this deployment names, stable first.</summary>
    public IEnumerable<long> NamedVersions()
    {
        yield return Stable;
        if (Canary is not null)
        {
            yield return Canary.Version;
        }
        if (Shadow is not null)
        {
            yield return Shadow.Version;
        }
    }
}

/// <summary>
/// A fixed canary (<paramref name="Percent"/>) or a canary plan (<paramref name="Steps"/> and the analysis gates),
/// stored as given: the rollout controller reads the plan. With a plan the canary starts at <c>steps[0]</c>.
/// </summary>
/// <param name="MaxAccuracyDrop">The quality gate on labels: the canary's accuracy may be this much below stable's (a fraction); null: off.</param>
/// <param name="MinAgreement">The quality gate on shadow copies: the share of rows where the canary predicts stable's class; null: off.</param>
/// <param name="MinQualitySamples">Labelled rows per arm (accuracy) or compared rows (agreement) before a quality gate is judged.</param>
internal sealed record CanarySpec(
    long Version,
    double? Percent,
    IReadOnlyList<double>? Steps,
    int? StepSeconds,
    long? MinRequests,
    double? MaxErrorRateDelta,
    double? MaxP95LatencyRatio,
    double? MaxAccuracyDrop = null,
    double? MinAgreement = null,
    long? MinQualitySamples = null)
{
    /// <summary>The share of requests the canary takes when it is ready: the fixed percent, or the plan's first step.</summary>
    [JsonIgnore]
    public double InitialPercent => Percent ?? Steps![0];
}

/// <param name="Percent">The share of requests copied to the shadow version (its answers are compared, never returned).</param>
internal sealed record ShadowSpec(long Version, double Percent);

internal sealed record CacheSpec(bool Enabled, int TtlSeconds);

/// <summary>Overrides of the versions' <c>dynamic_batching</c>; fields left null keep each version's own value.</summary>
internal sealed record BatchingSpec(
    long? MaxQueueDelayMicroseconds,
    IReadOnlyList<int>? PreferredBatchSize,
    int? MaxQueueSize,
    long? DefaultTimeoutMicroseconds);

/// <summary>Overrides the versions' <c>instance_group</c> with one group.</summary>
internal sealed record InstancesSpec(int Count, string Kind);

/// <summary>
/// Model monitoring (issue #16): which share of each version's requests the gateway captures, what of them is
/// kept and for how long, and how drift is judged.
/// </summary>
/// <param name="SamplePercent">0..100: the share of inference requests (every arm) captured.</param>
/// <param name="CapturePayloads">Also keep the whole request and response, not only the tensors drift and quality read.</param>
/// <param name="RetentionDays">Captures older than this are deleted.</param>
/// <param name="Redact">Input and output names never stored.</param>
/// <param name="PredictionOutput">The output a classifier's predicted class is read from; null: the first output.</param>
internal sealed record MonitoringSpec(
    double SamplePercent,
    bool CapturePayloads,
    int RetentionDays,
    IReadOnlyList<string> Redact,
    string? PredictionOutput,
    DriftSpec Drift);

/// <param name="PsiThreshold">A feature whose PSI against the baseline exceeds this has drifted.</param>
/// <param name="DriftedShare">The version has drifted when more than this share of its features has (0..1).</param>
/// <param name="MinRows">Fewer captured rows in the window than this: no verdict (drifted false, score null).</param>
/// <param name="WindowMinutes">How far back captures count for one computation.</param>
internal sealed record DriftSpec(double PsiThreshold, double DriftedShare, long MinRows, int WindowMinutes);
