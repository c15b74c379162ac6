using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hyperion.Gateway.Routing;

namespace Hyperion.Gateway;

/// <summary>
/// The gateway's instruments (meter <c>Hyperion.Gateway</c>, exported on /metrics). Labels are bounded: models and
/// versions only from the routing table, outcomes from fixed sets.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "Hyperion.Gateway";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _armDuration;
    private readonly Counter<long> _auth;
    private readonly Counter<long> _keyLookups;
    private readonly Counter<long> _rateLimit;
    private readonly Counter<long> _cache;
    private readonly Counter<long> _shadowDropped;
    private readonly Counter<long> _shadowComparisons;
    private readonly Histogram<double> _shadowDiff;
    private readonly Counter<long> _routingRefreshes;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _breaker;
    private readonly Counter<long> _captures;
    private readonly Counter<long> _pipelineRequests;
    private readonly Histogram<double> _pipelineDuration;
    private readonly Counter<long> _stepRequests;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _stepRows;
    private readonly Counter<long> _usageRequests;
    private readonly Counter<long> _usageRows;
    private readonly Counter<double> _usageCompute;
    private readonly Counter<long> _quota;

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("hyperion_gateway_arm_requests_total", description: "Requests routed by a deployment's policy, per model, version, arm (stable, canary, shadow, pinned) and outcome (success, client_error, error)");
        _armDuration = meter.CreateHistogram<double>("hyperion_gateway_arm_request_duration_seconds", "s", "Latency per model, version and arm, as seen by the gateway",
            advice: LatencyBuckets);
        _auth = meter.CreateCounter<long>("hyperion_gateway_auth_total", description: "Authentication and authorization decisions by outcome (allowed, anonymous, unauthenticated, forbidden, unavailable)");
        _keyLookups = meter.CreateCounter<long>("hyperion_gateway_key_lookups_total", description: "API key resolutions by result (cached, found, not_found, stale, failed)");
        _rateLimit = meter.CreateCounter<long>("hyperion_gateway_ratelimit_decisions_total", description: "Rate-limit checks by outcome (allowed, limited, fail_open, fail_closed); fail_open means Redis could not be asked and the request went through");
        _cache = meter.CreateCounter<long>("hyperion_gateway_cache_lookups_total", description: "Response cache lookups by result (hit, miss, bypass, unavailable)");
        _shadowDropped = meter.CreateCounter<long>("hyperion_gateway_shadow_dropped_total", description: "Shadow copies not sent, by reason (queue_full, too_large, no_replica)");
        _shadowComparisons = meter.CreateCounter<long>("hyperion_gateway_shadow_comparisons_total", description: "Shadow answers compared with stable's, by model and agreed (true, false)");
        _shadowDiff = meter.CreateHistogram<double>("hyperion_gateway_shadow_max_abs_diff", description: "Max absolute difference between the first output of shadow and stable",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 1e-6, 1e-4, 1e-3, 0.01, 0.1, 1, 10] });
        _routingRefreshes = meter.CreateCounter<long>("hyperion_gateway_routing_refreshes_total", description: "Routing table fetches by outcome (success, failure)");
        _retries = meter.CreateCounter<long>("hyperion_gateway_connect_retries_total", description: "Requests sent to another replica after connecting to one failed");
        _breaker = meter.CreateCounter<long>("hyperion_gateway_circuit_transitions_total", description: "Replica circuits opened (state=open) and closed again (state=closed)");
        _pipelineRequests = meter.CreateCounter<long>("hyperion_gateway_pipeline_requests_total", description: "Pipeline calls per pipeline and outcome (success, client_error, error)");
        _pipelineDuration = meter.CreateHistogram<double>("hyperion_gateway_pipeline_request_duration_seconds", "s", "Latency of a whole pipeline call, per pipeline", advice: LatencyBuckets);
        _stepRequests = meter.CreateCounter<long>("hyperion_gateway_pipeline_step_requests_total", description: "Pipeline steps per pipeline, step and outcome (success, client_error, error; skipped: its when held for no row, a step it reads did not answer, or a fallback not needed)");
        _stepRows = meter.CreateCounter<long>("hyperion_gateway_pipeline_step_rows_total", description: "Rows sent to a pipeline step, per pipeline and step: with a when, the rows it held for");
        _stepDuration = meter.CreateHistogram<double>("hyperion_gateway_pipeline_step_duration_seconds", "s", "Latency of a pipeline step (its replica call, or its cache lookup), per pipeline and step", advice: LatencyBuckets);
        _usageRequests = meter.CreateCounter<long>("hyperion_gateway_usage_requests_total", description: "Metered inference requests (models and pipelines) per team of the caller (none: a key without a team)");
        _usageRows = meter.CreateCounter<long>("hyperion_gateway_usage_rows_total", description: "Rows (instances) of metered inference requests, as the replicas counted them, per team of the caller");
        _usageCompute = meter.CreateCounter<double>("hyperion_gateway_usage_compute_seconds_total", "s", "Time metered inference requests spent in the gateway and behind it, per team of the caller");
        _quota = meter.CreateCounter<long>("hyperion_gateway_quota_decisions_total", description: "Quota checks of callers with a quota per team and outcome (allowed, exceeded, fail_open, fail_closed)");
        _captures = meter.CreateCounter<long>("hyperion_gateway_captures_total", description: "Sampled inference requests for model monitoring by outcome: written (to the Redis stream), queue_full, too_large, redis_unavailable (dropped), skipped_binary, skipped_grpc, skipped_v1 (not captured: only OIP JSON is)");
    }

    private static readonly InstrumentAdvice<double> LatencyBuckets =
        new() { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10] };

    public static string Label(ArmOutcome outcome) => outcome switch
    {
        ArmOutcome.Error => "error",
        ArmOutcome.ClientError => "client_error",
        _ => "success",
    };

    public void ArmRequest(string model, string version, string arm, ArmOutcome outcome, double seconds)
    {
        var label = Label(outcome);
        var tags = new TagList { { "model", model }, { "version", version }, { "arm", arm }, { "outcome", label } };
        _requests.Add(1, tags);
        _armDuration.Record(seconds, new TagList { { "model", model }, { "version", version }, { "arm", arm } });
    }

    public void Auth(string outcome) => _auth.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void KeyLookup(string result) => _keyLookups.Add(1, new KeyValuePair<string, object?>("result", result));

    public void RateLimit(string outcome) => _rateLimit.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <param name="team">The caller's team, or "none": bounded, since teams are few and made by admins.</param>
    public void Usage(string team, long rows, double seconds)
    {
        var tag = new KeyValuePair<string, object?>("team", team);
        _usageRequests.Add(1, tag);
        _usageRows.Add(rows, tag);
        _usageCompute.Add(seconds, tag);
    }

    public void Quota(string team, string outcome) => _quota.Add(1, new TagList { { "team", team }, { "outcome", outcome } });

    public void Cache(string result) => _cache.Add(1, new KeyValuePair<string, object?>("result", result));

    public void ShadowDropped(string reason) => _shadowDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void ShadowCompared(string model, bool agreed, double maxAbsDiff)
    {
        _shadowComparisons.Add(1, new TagList { { "model", model }, { "agreed", agreed ? "true" : "false" } });
        _shadowDiff.Record(maxAbsDiff, new KeyValuePair<string, object?>("model", model));
    }

    public void RoutingRefreshed(bool success) => _routingRefreshes.Add(1, new KeyValuePair<string, object?>("outcome", success ? "success" : "failure"));

    public void ConnectRetry() => _retries.Add(1);

    public void Capture(string outcome, int count = 1)
    {
        if (count > 0)
        {
            _captures.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <param name="pipeline">A pipeline of the routing table (never a name from a request the gateway does not know).</param>
    public void PipelineRequest(string pipeline, ArmOutcome outcome, double seconds)
    {
        _pipelineRequests.Add(1, new TagList { { "pipeline", pipeline }, { "outcome", Label(outcome) } });
        _pipelineDuration.Record(seconds, new KeyValuePair<string, object?>("pipeline", pipeline));
    }

    /// <param name="outcome">success, client_error, error or skipped.</param>
    public void PipelineStepRows(string pipeline, string step, long rows) =>
        _stepRows.Add(rows, new TagList { { "pipeline", pipeline }, { "step", step } });

    public void PipelineStep(string pipeline, string step, string outcome, double seconds)
    {
        _stepRequests.Add(1, new TagList { { "pipeline", pipeline }, { "step", step }, { "outcome", outcome } });
        if (outcome != "skipped")
        {
            _stepDuration.Record(seconds, new TagList { { "pipeline", pipeline }, { "step", step } });
        }
    }

    public void CircuitTransition(bool opened) => _breaker.Add(1, new KeyValuePair<string, object?>("state", opened ? "open" : "closed"));
}
