using System.Globalization;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// PromQL over the metrics the services export (names as the OpenTelemetry Prometheus exporter writes them),
/// shared by the alerting rules and the dashboard so both watch the same numbers.
/// </summary>
internal sealed class MonitoringQueries(PublishOptions options)
{
    /// <summary>ASP.NET Core's request histogram (meter Microsoft.AspNetCore.Hosting), in every service.</summary>
    public const string HttpRequestDuration = "http_server_request_duration_seconds";

    // Hyperion.Inference/Metrics/InferenceMetrics.cs
    public const string InferenceRequests = "hyperion_inference_requests_total";
    public const string InferenceRequestDuration = "hyperion_inference_request_duration_seconds";
    public const string InferenceQueueDepth = HyperionWorkloads.InferenceQueueDepthMetric;
    public const string InferenceModelReady = "hyperion_inference_model_ready";
    public const string InferenceBatchSize = "hyperion_inference_batch_size";

    /// <summary>
    /// A model version's drift against its baseline profile (the share of its features that drifted), which the
    /// orchestrator exports for monitored deployments (Hyperion.Orchestrator/Quality/QualitySignals.cs).
    /// </summary>
    public const string ModelDriftScore = "hyperion_orchestrator_model_drift_score";

    /// <summary>Error ratio recorded per job over each window the burn-rate alerts read.</summary>
    public static string ErrorRatioRecord(string window) => $"job:hyperion_http_request_errors:ratio_rate{window}";

    private string Namespace => $"namespace=\"{options.Namespace}\"";

    /// <summary>Requests that are not probes or scrapes: a pod that is not ready yet must not count as failing users.</summary>
    private static string UserRoutes
    {
        get
        {
            var infrastructure = HyperionWorkloads.Profiles.Values.Append(WorkloadProfile.Default)
                .SelectMany(p => new[] { p.ReadinessPath, p.LivenessPath, p.StartupPath })
                .Append(ServiceDefaultsPaths.Metrics)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal);
            return $"http_route!~\"{string.Join('|', infrastructure)}\"";
        }
    }

    public string RequestRate(string by) =>
        $"sum by ({by}) (rate({HttpRequestDuration}_count{{{Namespace},{UserRoutes}}}[5m]))";

    public string ErrorRatio(string window) =>
        $"sum by (namespace, job) (rate({HttpRequestDuration}_count{{{Namespace},{UserRoutes},http_response_status_code=~\"5..\"}}[{window}]))" +
        $" / sum by (namespace, job) (rate({HttpRequestDuration}_count{{{Namespace},{UserRoutes}}}[{window}]))";

    public string RequestLatencyP99(string jobs) =>
        $"histogram_quantile(0.99, sum by (namespace, job, le) (rate({HttpRequestDuration}_bucket{{{Namespace},job=~\"{jobs}\",{UserRoutes}}}[5m])))";

    public string ModelLatencyP99() =>
        $"histogram_quantile(0.99, sum by (namespace, model, version, le) (rate({InferenceRequestDuration}_bucket{{{Namespace}}}[5m])))";

    public string ModelRequestRate() =>
        $"sum by (model, version, outcome) (rate({InferenceRequests}{{{Namespace}}}[5m]))";

    public string QueueDepth() => $"sum by (model, version) ({InferenceQueueDepth}{{{Namespace}}})";

    /// <summary>Requests waiting per replica holding the version.</summary>
    public string QueueDepthPerReplica() =>
        $"sum by (namespace, model, version) ({InferenceQueueDepth}{{{Namespace}}}) / clamp_min(count by (namespace, model, version) ({InferenceQueueDepth}{{{Namespace}}}), 1)";

    public string QueueFullRate() =>
        $"sum by (namespace, model, version) (rate({InferenceRequests}{{{Namespace},outcome=\"queue_full\"}}[5m]))";

    public string ModelNotReady() => $"min by (namespace, pod, model, version) ({InferenceModelReady}{{{Namespace}}}) == 0";

    public string AverageBatchSize() =>
        $"sum by (model, version) (rate({InferenceBatchSize}_sum{{{Namespace}}}[5m])) / sum by (model, version) (rate({InferenceBatchSize}_count{{{Namespace}}}[5m]))";

    public string ModelDrift(double threshold) =>
        $"max by (namespace, model, version) ({ModelDriftScore}{{{Namespace}}}) > {threshold.ToString(CultureInfo.InvariantCulture)}";

    public string ReplicasUp() => $"sum by (job, {KubernetesLabels.PoolMetricLabel}) (up{{{Namespace}}})";

    public string TargetDown() => $"up{{{Namespace}}} == 0";
}
