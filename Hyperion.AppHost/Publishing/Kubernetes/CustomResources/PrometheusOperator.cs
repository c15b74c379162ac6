using System.Text.Json.Serialization;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes.CustomResources;

/// <summary>Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1): which Services Prometheus scrapes.</summary>
internal sealed record ServiceMonitor
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "monitoring.coreos.com/v1";

    [JsonPropertyName("kind")]
    public string Kind => "ServiceMonitor";

    [JsonPropertyName("metadata")]
    public required V1ObjectMeta Metadata { get; init; }

    [JsonPropertyName("spec")]
    public required ServiceMonitorSpec Spec { get; init; }
}

internal sealed record ServiceMonitorSpec
{
    /// <summary>Pod labels copied onto every scraped series (the pool a replica runs in).</summary>
    [JsonPropertyName("podTargetLabels")]
    public IReadOnlyList<string>? PodTargetLabels { get; init; }

    [JsonPropertyName("selector")]
    public required V1LabelSelector Selector { get; init; }

    [JsonPropertyName("endpoints")]
    public required IReadOnlyList<ServiceMonitorEndpoint> Endpoints { get; init; }
}

internal sealed record ServiceMonitorEndpoint
{
    [JsonPropertyName("port")]
    public required string Port { get; init; }

    [JsonPropertyName("path")]
    public string? Path { get; init; }

    [JsonPropertyName("interval")]
    public string? Interval { get; init; }

    [JsonPropertyName("scrapeTimeout")]
    public string? ScrapeTimeout { get; init; }
}

/// <summary>Prometheus Operator's PrometheusRule: recording and alerting rules Prometheus loads.</summary>
internal sealed record PrometheusRule
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "monitoring.coreos.com/v1";

    [JsonPropertyName("kind")]
    public string Kind => "PrometheusRule";

    [JsonPropertyName("metadata")]
    public required V1ObjectMeta Metadata { get; init; }

    [JsonPropertyName("spec")]
    public required PrometheusRuleSpec Spec { get; init; }
}

internal sealed record PrometheusRuleSpec
{
    [JsonPropertyName("groups")]
    public required IReadOnlyList<PrometheusRuleGroup> Groups { get; init; }
}

internal sealed record PrometheusRuleGroup
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("rules")]
    public required IReadOnlyList<PrometheusRuleEntry> Rules { get; init; }
}

/// <summary>An alerting rule (<see cref="Alert"/>) or a recording rule (<see cref="Record"/>).</summary>
internal sealed record PrometheusRuleEntry
{
    [JsonPropertyName("record")]
    public string? Record { get; init; }

    [JsonPropertyName("alert")]
    public string? Alert { get; init; }

    [JsonPropertyName("expr")]
    public required string Expr { get; init; }

    [JsonPropertyName("for")]
    public string? For { get; init; }

    [JsonPropertyName("labels")]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    [JsonPropertyName("annotations")]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}
