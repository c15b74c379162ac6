using System.Globalization;
using System.Text.RegularExpressions;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Rollouts;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Checks a deployment request on its own (shape and ranges; whether the versions exist is the store's question)
/// and normalizes it: every mistake is reported at once, under the field's JSON path, saying what was expected.
/// </summary>
internal static partial class DeploymentSpecValidator
{
    public const int DefaultCacheTtlSeconds = 60;
    public const double DefaultShadowPercent = 100;
    public const int DefaultRetentionDays = 7;
    // The usual reading of the population stability index: below 0.1 stable, 0.1 to 0.25 some shift, above 0.25 a shift.
    public const double DefaultPsiThreshold = 0.2;
    public const double DefaultDriftedShare = 0.2;
    public const long DefaultDriftMinRows = 100;
    public const int DefaultDriftWindowMinutes = 60;

    public static DeploymentSpec? Validate(DeploymentRequest request, out Dictionary<string, string[]> errors)
    {
        var found = new FieldErrors();
        if (request.Stable is not { } stable)
        {
            found.Add("stable", "is required: the version that takes the traffic, e.g. {\"stable\": 1}");
        }
        else if (stable < 1)
        {
            found.Add("stable", $"must be a version number (1 or more), got {stable}");
        }

        var canary = ValidateCanary(request.Canary, request.Stable, found);
        var shadow = ValidateShadow(request.Shadow, request.Stable, found);
        var cache = ValidateCache(request.Cache, found);
        var batching = ValidateBatching(request.Batching, request.MaxBatchSize, found);
        if (request.MaxBatchSize is < 0)
        {
            found.Add("max_batch_size", $"must be 0 (no batch dimension) or more, got {request.MaxBatchSize}");
        }
        var instances = ValidateInstances(request.Instances, found);
        var monitoring = ValidateMonitoring(request.Monitoring, found);
        CheckQualityGates(canary, shadow, monitoring, found);
        var pool = request.Pool ?? DeploymentSpec.DefaultPool;
        if (!IsPoolName(pool))
        {
            found.Add("pool", $"must be a pool name of lowercase letters, digits and '-' (e.g. \"cpu\", \"gpu-a100\"), got \"{pool}\"");
        }
        if (request.Replicas is < 1)
        {
            found.Add("replicas", $"must be 1 or more (or null for every live replica of the pool), got {request.Replicas}");
        }

        errors = found.ToDictionary();
        if (errors.Count > 0)
        {
            return null;
        }
        return new DeploymentSpec(
            Stable: request.Stable!.Value,
            Canary: canary,
            Shadow: shadow,
            Cache: cache,
            Batching: batching,
            MaxBatchSize: request.MaxBatchSize,
            Instances: instances,
            Pool: pool,
            Replicas: request.Replicas,
            Monitoring: monitoring);
    }

    /// <summary>One line naming every mistake, for the problem's <c>detail</c>.</summary>
    public static string Describe(IReadOnlyDictionary<string, string[]> errors) =>
        "The deployment spec is invalid: " + string.Join("; ", errors.SelectMany(field => field.Value.Select(message => $"{field.Key} {message}"))) + ".";

    private static CanarySpec? ValidateCanary(CanaryRequest? canary, long? stable, FieldErrors found)
    {
        if (canary is null)
        {
            return null;
        }
        CheckVersion("canary", canary.Version, stable, found);
        // Without a fixed percent the canary is a plan: the rollout controller moves it through its steps. Its
        // defaults are filled in here (CanaryPlan), so the stored spec says what will happen.
        var plan = canary.Percent is null;
        if (canary.Percent is { } percent)
        {
            if (canary.Steps is not null)
            {
                found.Add("canary.percent", "must be left out with a plan: the canary starts at steps[0] and the rollout controller moves it");
            }
            else if (canary.StepSeconds is not null || canary.MinRequests is not null
                     || canary.MaxErrorRateDelta is not null || canary.MaxP95LatencyRatio is not null
                     || canary.MaxAccuracyDrop is not null || canary.MinAgreement is not null || canary.MinQualitySamples is not null)
            {
                found.Add("canary", "step_seconds, min_requests, max_error_rate_delta, max_p95_latency_ratio, max_accuracy_drop, min_agreement and min_quality_samples belong to a canary plan: leave out \"percent\" (a fixed split) to have the rollout controller move the canary");
            }
            CheckPercent("canary.percent", percent, found);
        }
        if (canary.Steps is { } steps)
        {
            if (steps.Count == 0)
            {
                found.Add("canary.steps", "must list at least one percent, e.g. [10, 50, 100]");
            }
            for (var i = 0; i < steps.Count; i++)
            {
                if (steps[i] is <= 0 or > 100 || double.IsNaN(steps[i]))
                {
                    found.Add("canary.steps", $"must be percents in 1..100, got {Format(steps[i])} at index {i}");
                }
                else if (i > 0 && steps[i] <= steps[i - 1])
                {
                    found.Add("canary.steps", $"must increase, got {Format(steps[i])} after {Format(steps[i - 1])} at index {i}");
                }
            }
        }
        if (canary.StepSeconds is < 1)
        {
            found.Add("canary.step_seconds", $"must be 1 or more, got {canary.StepSeconds}");
        }
        if (canary.MinRequests is < 0)
        {
            found.Add("canary.min_requests", $"must be 0 or more, got {canary.MinRequests}");
        }
        if (canary.MaxErrorRateDelta is { } delta && (delta is < 0 or > 1 || double.IsNaN(delta)))
        {
            found.Add("canary.max_error_rate_delta", $"must be a fraction between 0 and 1 (0.02 = two points more errors than stable), got {Format(delta)}");
        }
        if (canary.MaxP95LatencyRatio is { } ratio && (ratio <= 0 || double.IsNaN(ratio) || double.IsInfinity(ratio)))
        {
            found.Add("canary.max_p95_latency_ratio", $"must be more than 0 (2.0 = the canary's p95 may be twice stable's), got {Format(ratio)}");
        }
        if (canary.MaxAccuracyDrop is { } drop && (drop is < 0 or > 1 || double.IsNaN(drop)))
        {
            found.Add("canary.max_accuracy_drop", $"must be a fraction between 0 and 1 (0.05 = the canary's accuracy may be 5 points below stable's), got {Format(drop)}");
        }
        if (canary.MinAgreement is { } agreement && (agreement is < 0 or > 1 || double.IsNaN(agreement)))
        {
            found.Add("canary.min_agreement", $"must be a fraction between 0 and 1 (0.9 = the canary predicts stable's class for at least 90 % of the same rows), got {Format(agreement)}");
        }
        var qualityGates = canary.MaxAccuracyDrop is not null || canary.MinAgreement is not null;
        if (canary.MinQualitySamples is { } samples && (samples < 1 || !qualityGates))
        {
            found.Add("canary.min_quality_samples", samples < 1
                ? $"must be 1 or more, got {samples}"
                : "belongs with a quality gate: set max_accuracy_drop or min_agreement, or leave it out");
        }
        if (canary.Version is not { } version)
        {
            return null;
        }
        return plan
            ? new CanarySpec(
                Version: version,
                Percent: null,
                Steps: canary.Steps ?? CanaryPlan.DefaultSteps,
                StepSeconds: canary.StepSeconds ?? CanaryPlan.DefaultStepSeconds,
                MinRequests: canary.MinRequests ?? CanaryPlan.DefaultMinRequests,
                MaxErrorRateDelta: canary.MaxErrorRateDelta ?? CanaryPlan.DefaultMaxErrorRateDelta,
                MaxP95LatencyRatio: canary.MaxP95LatencyRatio ?? CanaryPlan.DefaultMaxP95LatencyRatio,
                MaxAccuracyDrop: canary.MaxAccuracyDrop,
                MinAgreement: canary.MinAgreement,
                MinQualitySamples: qualityGates ? canary.MinQualitySamples ?? CanaryPlan.DefaultMinQualitySamples : null)
            : new CanarySpec(
                Version: version,
                Percent: canary.Percent,
                Steps: null,
                StepSeconds: null,
                MinRequests: null,
                MaxErrorRateDelta: null,
                MaxP95LatencyRatio: null);
    }

    /// <summary>
    /// The quality gates read captured predictions, so they need monitoring; agreement compares predictions on the
    /// same requests, which only a shadow copy of the canary version gives (a request goes to one arm).
    /// </summary>
    private static void CheckQualityGates(CanarySpec? canary, ShadowSpec? shadow, MonitoringSpec? monitoring, FieldErrors found)
    {
        if (canary is null || (canary.MaxAccuracyDrop is null && canary.MinAgreement is null))
        {
            return;
        }
        if (monitoring is not { SamplePercent: > 0 })
        {
            var gate = canary.MaxAccuracyDrop is not null ? "canary.max_accuracy_drop" : "canary.min_agreement";
            found.Add(gate, "reads the arms' captured predictions, so it needs monitoring: add \"monitoring\": {\"sample_percent\": 100} (or another share above 0)");
        }
        if (canary.MinAgreement is not null && shadow?.Version != canary.Version)
        {
            found.Add("canary.min_agreement", string.Create(CultureInfo.InvariantCulture,
                $"compares the canary's predictions with stable's on the same requests, which only a shadow copy of the canary version gives: add \"shadow\": {{\"version\": {canary.Version}}}{(shadow is null ? "" : $" (the shadow is version {shadow.Version})")}"));
        }
    }

    private static ShadowSpec? ValidateShadow(ShadowRequest? shadow, long? stable, FieldErrors found)
    {
        if (shadow is null)
        {
            return null;
        }
        CheckVersion("shadow", shadow.Version, stable, found);
        var percent = shadow.Percent ?? DefaultShadowPercent;
        CheckPercent("shadow.percent", percent, found);
        return shadow.Version is { } version ? new ShadowSpec(version, percent) : null;
    }

    private static MonitoringSpec? ValidateMonitoring(MonitoringRequest? monitoring, FieldErrors found)
    {
        if (monitoring is null)
        {
            return null;
        }
        var samplePercent = monitoring.SamplePercent ?? 100;
        CheckPercent("monitoring.sample_percent", samplePercent, found);
        var retention = monitoring.RetentionDays ?? DefaultRetentionDays;
        if (retention < 1)
        {
            found.Add("monitoring.retention_days", $"must be 1 or more, got {retention}");
        }
        var redact = monitoring.Redact ?? [];
        if (redact.Any(string.IsNullOrWhiteSpace))
        {
            found.Add("monitoring.redact", "must list input or output names (non-empty strings)");
        }
        if (monitoring.PredictionOutput is { Length: 0 })
        {
            found.Add("monitoring.prediction_output", "must name an output of the model, or be left out for the first output");
        }
        var drift = monitoring.Drift;
        var psi = drift?.PsiThreshold ?? DefaultPsiThreshold;
        if (!(psi > 0) || !double.IsFinite(psi))
        {
            found.Add("monitoring.drift.psi_threshold", $"must be a number above 0 (0.2 is usual), got {psi}");
        }
        var share = drift?.DriftedShare ?? DefaultDriftedShare;
        if (!(share >= 0 && share <= 1))
        {
            found.Add("monitoring.drift.drifted_share", $"must be between 0 and 1, got {share}");
        }
        var minRows = drift?.MinRows ?? DefaultDriftMinRows;
        if (minRows < 1)
        {
            found.Add("monitoring.drift.min_rows", $"must be 1 or more, got {minRows}");
        }
        var window = drift?.WindowMinutes ?? DefaultDriftWindowMinutes;
        if (window < 1)
        {
            found.Add("monitoring.drift.window_minutes", $"must be 1 or more, got {window}");
        }
        return new MonitoringSpec(samplePercent, monitoring.CapturePayloads ?? false, retention, redact, monitoring.PredictionOutput,
            new DriftSpec(psi, share, minRows, window));
    }

    private static CacheSpec? ValidateCache(CacheRequest? cache, FieldErrors found)
    {
        if (cache is null)
        {
            return null;
        }
        var ttl = cache.TtlSeconds ?? DefaultCacheTtlSeconds;
        if (ttl < 1)
        {
            found.Add("cache.ttl_seconds", $"must be 1 or more, got {ttl}");
        }
        return new CacheSpec(cache.Enabled ?? true, ttl);
    }

    private static BatchingSpec? ValidateBatching(BatchingRequest? batching, int? maxBatchSize, FieldErrors found)
    {
        if (batching is null)
        {
            return null;
        }
        if (batching.MaxQueueDelayMicroseconds is < 0)
        {
            found.Add("batching.max_queue_delay_microseconds", $"must be 0 or more, got {batching.MaxQueueDelayMicroseconds}");
        }
        if (batching.MaxQueueSize is < 0)
        {
            found.Add("batching.max_queue_size", $"must be 0 (the server's default) or more, got {batching.MaxQueueSize}");
        }
        if (batching.DefaultTimeoutMicroseconds is < 0)
        {
            found.Add("batching.default_timeout_microseconds", $"must be 0 (no timeout) or more, got {batching.DefaultTimeoutMicroseconds}");
        }
        foreach (var preferred in batching.PreferredBatchSize ?? [])
        {
            if (preferred < 1)
            {
                found.Add("batching.preferred_batch_size", $"must be batch sizes of 1 or more, got {preferred}");
            }
            else if (maxBatchSize is { } max && preferred > max)
            {
                found.Add("batching.preferred_batch_size", $"must not exceed max_batch_size {max}, got {preferred}");
            }
        }
        return new BatchingSpec(batching.MaxQueueDelayMicroseconds, batching.PreferredBatchSize, batching.MaxQueueSize, batching.DefaultTimeoutMicroseconds);
    }

    private static InstancesSpec? ValidateInstances(InstancesRequest? instances, FieldErrors found)
    {
        if (instances is null)
        {
            return null;
        }
        var count = instances.Count ?? 1;
        if (count < 1)
        {
            found.Add("instances.count", $"must be 1 or more, got {count}");
        }
        var kind = instances.Kind ?? "cpu";
        if (kind is not ("cpu" or "gpu"))
        {
            found.Add("instances.kind", $"must be \"cpu\" or \"gpu\", got \"{kind}\"");
        }
        return new InstancesSpec(count, kind);
    }

    private static void CheckVersion(string arm, long? version, long? stable, FieldErrors found)
    {
        if (version is not { } number)
        {
            found.Add($"{arm}.version", "is required: the version this arm sends traffic to");
        }
        else if (number < 1)
        {
            found.Add($"{arm}.version", $"must be a version number (1 or more), got {number}");
        }
        else if (number == stable)
        {
            found.Add($"{arm}.version", $"must differ from stable ({stable}): a {arm} compares another version with the stable one");
        }
    }

    private static void CheckPercent(string field, double percent, FieldErrors found)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
        {
            found.Add(field, $"must be between 0 and 100, got {Format(percent)}");
        }
    }

    public static bool IsPoolName(string pool) => PoolName().IsMatch(pool);

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex PoolName();
}
