using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// A Grafana dashboard in a ConfigMap labelled for Grafana's dashboard sidecar (kube-prometheus-stack
/// loads every ConfigMap with <c>grafana_dashboard: "1"</c>): traffic, errors and latency per service,
/// then per model: requests by outcome, latency, queue depth, batch size, readiness, replicas per pool.
/// </summary>
internal sealed class GrafanaDashboard(PublishOptions options)
{
    public const string FileName = "hyperion.json";
    private const int PanelWidth = 12;
    private const int PanelHeight = 8;
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private sealed record Panel(string Title, string Unit, string Expr, string Legend);

    public V1ConfigMap ConfigMap() => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta
        {
            Name = "hyperion-dashboard",
            NamespaceProperty = options.Namespace,
            Labels = new Dictionary<string, string>
            {
                ["grafana_dashboard"] = "1",
                [KubernetesLabels.PartOf] = KubernetesLabels.Application,
                [KubernetesLabels.ManagedBy] = KubernetesLabels.Manager,
            },
        },
        Data = new Dictionary<string, string> { [FileName] = Json() },
    };

    public string Json()
    {
        var queries = new MonitoringQueries(options);
        Panel[] panels =
        [
            new("Requests per second", "reqps", queries.RequestRate("job"), "{{job}}"),
            new("5xx ratio", "percentunit", queries.ErrorRatio("5m"), "{{job}}"),
            new("p99 latency", "s", queries.RequestLatencyP99(".+"), "{{job}}"),
            new("Replicas scraped", "short", queries.ReplicasUp(), $"{{{{job}}}} {{{{{KubernetesLabels.PoolMetricLabel}}}}}"),
            new("Inferences per second by outcome", "reqps", queries.ModelRequestRate(), "{{model}}/{{version}} {{outcome}}"),
            new("Model p99 latency", "s", queries.ModelLatencyP99(), "{{model}}/{{version}}"),
            new("Queue depth", "short", queries.QueueDepth(), "{{model}}/{{version}}"),
            new("Average batch size", "short", queries.AverageBatchSize(), "{{model}}/{{version}}"),
            new("Model versions not ready", "short", $"count by (model, version) ({queries.ModelNotReady()})", "{{model}}/{{version}}"),
            new("Drift score", "short", $"max by (model, version) ({MonitoringQueries.ModelDriftScore}{{namespace=\"{options.Namespace}\"}})", "{{model}}/{{version}}"),
        ];
        var dashboard = new JsonObject
        {
            ["uid"] = "hyperion",
            ["title"] = "Hyperion",
            ["tags"] = new JsonArray("hyperion"),
            ["timezone"] = "browser",
            ["schemaVersion"] = 39,
            ["version"] = 1,
            ["editable"] = true,
            ["refresh"] = "30s",
            ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
            ["templating"] = new JsonObject
            {
                ["list"] = new JsonArray(new JsonObject
                {
                    ["name"] = "datasource",
                    ["label"] = "Data source",
                    ["type"] = "datasource",
                    ["query"] = "prometheus",
                }),
            },
            ["panels"] = new JsonArray([.. panels.Select((panel, index) => (JsonNode)PanelJson(panel, index))]),
        };
        return dashboard.ToJsonString(s_json) + "\n";
    }

    private static JsonObject PanelJson(Panel panel, int index) => new()
    {
        ["id"] = index + 1,
        ["type"] = "timeseries",
        ["title"] = panel.Title,
        ["datasource"] = new JsonObject { ["type"] = "prometheus", ["uid"] = "${datasource}" },
        ["gridPos"] = new JsonObject
        {
            ["h"] = PanelHeight,
            ["w"] = PanelWidth,
            ["x"] = index % 2 * PanelWidth,
            ["y"] = index / 2 * PanelHeight,
        },
        ["fieldConfig"] = new JsonObject { ["defaults"] = new JsonObject { ["unit"] = panel.Unit }, ["overrides"] = new JsonArray() },
        ["targets"] = new JsonArray(new JsonObject { ["refId"] = "A", ["expr"] = panel.Expr, ["legendFormat"] = panel.Legend }),
    };
}
