using System.Globalization;
using Hyperion.AppHost.Publishing.Kubernetes.CustomResources;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// Prometheus Operator objects: a ServiceMonitor per project (its /metrics, with the pool of each pod), and
/// the alerts: error-budget burn, p99 latency, queue saturation, models not ready, drift, targets down.
/// </summary>
internal sealed class Monitoring(PublishedGraph graph, PublishOptions options)
{
    /// <summary>The availability the burn-rate alerts defend: 99.9% of user requests without a 5xx.</summary>
    public const double AvailabilityObjective = 0.999;

    /// <summary>Public p99 latency above this for ten minutes is an alert.</summary>
    public const double LatencyP99Seconds = 1.0;

    public const double DriftThreshold = 0.2;

    private readonly MonitoringQueries _queries = new(options);

    public IEnumerable<object> Objects()
    {
        foreach (var project in graph.Projects)
        {
            yield return ServiceMonitorOf(project);
        }
        yield return Rules();
    }

    private ServiceMonitor ServiceMonitorOf(PublishedProject project) => new()
    {
        Metadata = KubernetesLabels.Metadata(project.Name, options.Namespace, project.Name),
        Spec = new ServiceMonitorSpec
        {
            Selector = KubernetesLabels.SelectorOf(project.Name),
            PodTargetLabels = ProjectWorkloads.DeploymentsOf(project).Count > 1 ? [KubernetesLabels.Pool] : null,
            Endpoints = [new ServiceMonitorEndpoint { Port = project.Http.Name, Path = ServiceDefaultsPaths.Metrics, Interval = "30s", ScrapeTimeout = "10s" }],
        },
    };

    private PrometheusRule Rules()
    {
        var budget = 1 - AvailabilityObjective;
        var windows = new[] { "5m", "30m", "1h", "6h" };
        var recording = windows.Select(window => new PrometheusRuleEntry { Record = MonitoringQueries.ErrorRatioRecord(window), Expr = _queries.ErrorRatio(window) }).ToList();

        var publicJobs = string.Join('|', graph.Projects.Where(p => p.Bindings.Any(b => b.IsExternal)).Select(p => p.Name));
        var alerts = new List<PrometheusRuleEntry>
        {
            // Multiwindow burn rates (Google SRE workbook): 2% of a 30-day budget in an hour, 5% in six hours.
            Alert("HyperionErrorBudgetBurnFast", "critical", "2m",
                $"{MonitoringQueries.ErrorRatioRecord("1h")} > {Number(14.4 * budget)} and {MonitoringQueries.ErrorRatioRecord("5m")} > {Number(14.4 * budget)}",
                "{{ $labels.job }} is burning its error budget 14x too fast",
                $"More than {Number(14.4 * budget * 100)}% of {{{{ $labels.job }}}}'s requests fail with 5xx over the last hour and five minutes; at this rate the {Number(AvailabilityObjective * 100)}% objective's monthly budget is gone in two days."),
            Alert("HyperionErrorBudgetBurnSlow", "warning", "15m",
                $"{MonitoringQueries.ErrorRatioRecord("6h")} > {Number(6 * budget)} and {MonitoringQueries.ErrorRatioRecord("30m")} > {Number(6 * budget)}",
                "{{ $labels.job }} is burning its error budget 6x too fast",
                $"More than {Number(6 * budget * 100)}% of {{{{ $labels.job }}}}'s requests fail with 5xx over six hours."),
            Alert("HyperionLatencyP99High", "warning", "10m",
                $"{_queries.RequestLatencyP99(publicJobs)} > {Number(LatencyP99Seconds)}",
                "{{ $labels.job }} p99 latency is above " + Number(LatencyP99Seconds) + "s",
                "The slowest 1% of public requests take {{ $value | humanizeDuration }} or more."),
            Alert("HyperionModelLatencyP99High", "warning", "10m",
                $"{_queries.ModelLatencyP99()} > {Number(LatencyP99Seconds)}",
                "Model {{ $labels.model }} version {{ $labels.version }} p99 latency is above " + Number(LatencyP99Seconds) + "s",
                "The slowest 1% of inferences on {{ $labels.model }}/{{ $labels.version }} take {{ $value | humanizeDuration }} or more (queue wait and compute)."),
            Alert("HyperionModelNotReady", "warning", "10m",
                _queries.ModelNotReady(),
                "Model {{ $labels.model }} version {{ $labels.version }} is not ready on {{ $labels.pod }}",
                "The version has been loading or failed to load for ten minutes; see the pod's log and GET /v2/models/{{ $labels.model }}/versions/{{ $labels.version }}/ready."),
            Alert("HyperionInferenceQueueFull", "critical", "5m",
                $"{_queries.QueueFullRate()} > 0",
                "Requests for {{ $labels.model }}/{{ $labels.version }} are rejected: queue full",
                "Replicas answer 503 because the version's queue is at max_queue_size; add replicas (autoscaling is at its maximum or pods cannot be scheduled) or raise the queue bound."),
            Alert("HyperionModelDrift", "warning", "30m",
                _queries.ModelDrift(DriftThreshold),
                "Inputs of {{ $labels.model }}/{{ $labels.version }} drift from the baseline",
                $"The drift score has been above {Number(DriftThreshold)} for 30 minutes: the traffic no longer looks like the data the model was trained on."),
            Alert("HyperionTargetDown", "warning", "5m",
                _queries.TargetDown(),
                "Prometheus cannot scrape {{ $labels.pod }} ({{ $labels.job }})",
                "The pod's /metrics has not answered for five minutes."),
        };
        if (HyperionWorkloads.Profiles.Values.Select(p => p.Scaling).OfType<QueueDepthScaling>().FirstOrDefault() is { } queue)
        {
            alerts.Add(Alert("HyperionInferenceQueueSaturated", "warning", "10m",
                $"{_queries.QueueDepthPerReplica()} > {Number(2 * queue.TargetPerReplica)}",
                "{{ $labels.model }}/{{ $labels.version }} has twice the queue autoscaling aims for",
                $"More than {2 * queue.TargetPerReplica} requests wait per replica for ten minutes (autoscaling aims for {queue.TargetPerReplica}): the pool is at its maximum or new pods cannot be scheduled."));
        }

        return new PrometheusRule
        {
            Metadata = new V1ObjectMeta
            {
                Name = "hyperion",
                NamespaceProperty = options.Namespace,
                Labels = new Dictionary<string, string> { [KubernetesLabels.PartOf] = KubernetesLabels.Application, [KubernetesLabels.ManagedBy] = KubernetesLabels.Manager },
            },
            Spec = new PrometheusRuleSpec
            {
                Groups =
                [
                    new PrometheusRuleGroup { Name = "hyperion.records", Rules = recording },
                    new PrometheusRuleGroup { Name = "hyperion.alerts", Rules = alerts },
                ],
            },
        };
    }

    private static PrometheusRuleEntry Alert(string name, string severity, string @for, string expr, string summary, string description) => new()
    {
        Alert = name,
        Expr = expr,
        For = @for,
        Labels = new Dictionary<string, string> { ["severity"] = severity },
        Annotations = new Dictionary<string, string> { ["summary"] = summary, ["description"] = description },
    };

    private static string Number(double value) => Math.Round(value, 6).ToString(CultureInfo.InvariantCulture);
}
