using System.Globalization;
using Hyperion.AppHost.Publishing.Kubernetes.CustomResources;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// What scales each Deployment: a HorizontalPodAutoscaler on CPU, or a KEDA ScaledObject on the queue depth
/// Prometheus scrapes from the pods (KEDA creates and owns the HorizontalPodAutoscaler behind it).
/// </summary>
internal sealed class Autoscalers(PublishOptions options)
{
    public IEnumerable<object> For(IReadOnlyList<ProjectDeployment> deployments)
    {
        foreach (var deployment in deployments)
        {
            switch (deployment.Profile.Scaling)
            {
                case CpuScaling cpu:
                    yield return CpuAutoscaler(deployment, cpu);
                    break;
                case QueueDepthScaling queue:
                    yield return QueueDepthScaler(deployment, queue, deployments);
                    break;
            }
        }
    }

    private V2HorizontalPodAutoscaler CpuAutoscaler(ProjectDeployment deployment, CpuScaling cpu) => new()
    {
        ApiVersion = "autoscaling/v2",
        Kind = "HorizontalPodAutoscaler",
        Metadata = KubernetesLabels.Metadata(deployment.Name, options.Namespace, deployment.Project.Name, ProjectWorkloads.PoolLabel(deployment)),
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = deployment.Name },
            MinReplicas = deployment.MinReplicas,
            MaxReplicas = deployment.MaxReplicas,
            Metrics =
            [
                new V2MetricSpec
                {
                    Type = "Resource",
                    Resource = new V2ResourceMetricSource
                    {
                        Name = "cpu",
                        Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = cpu.TargetUtilizationPercent },
                    },
                },
            ],
            Behavior = CalmScaleDown(),
        },
    };

    private KedaScaledObject QueueDepthScaler(ProjectDeployment deployment, QueueDepthScaling queue, IReadOnlyList<ProjectDeployment> all) => new()
    {
        Metadata = KubernetesLabels.Metadata(deployment.Name, options.Namespace, deployment.Project.Name, ProjectWorkloads.PoolLabel(deployment)),
        Spec = new KedaScaledObjectSpec
        {
            ScaleTargetRef = new KedaScaleTarget { ApiVersion = "apps/v1", Kind = "Deployment", Name = deployment.Name },
            PollingInterval = 15,
            CooldownPeriod = 300,
            MinReplicaCount = deployment.MinReplicas,
            MaxReplicaCount = deployment.MaxReplicas,
            Advanced = new KedaAdvanced { HorizontalPodAutoscalerConfig = new KedaHpaConfig { Behavior = CalmScaleDown() } },
            Triggers =
            [
                new KedaTrigger
                {
                    Type = "prometheus",
                    Name = "queue-depth",
                    Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        ["serverAddress"] = options.PrometheusUrl,
                        ["query"] = QueueDepthQuery(deployment, queue, all),
                        ["threshold"] = queue.TargetPerReplica.ToString(CultureInfo.InvariantCulture),
                        ["activationThreshold"] = queue.ActivationThreshold.ToString(CultureInfo.InvariantCulture),
                    },
                },
            ],
        },
    };

    /// <summary>
    /// Requests waiting in the pool. A pool that may be parked at zero has no pods to report its own queue, so
    /// it follows the whole service's: it wakes when the pools that run are queueing.
    /// </summary>
    private string QueueDepthQuery(ProjectDeployment deployment, QueueDepthScaling queue, IReadOnlyList<ProjectDeployment> all)
    {
        var selector = $"namespace=\"{options.Namespace}\",job=\"{deployment.Project.Name}\"";
        if (ProjectWorkloads.PoolLabel(deployment) is { } pool && deployment.MinReplicas > 0 && all.Count > 1)
        {
            selector += $",{KubernetesLabels.PoolMetricLabel}=\"{pool}\"";
        }
        return $"sum({queue.Metric}{{{selector}}})";
    }

    /// <summary>Scale up at once, scale down after five quiet minutes: bursts do not make pods flap.</summary>
    private static V2HorizontalPodAutoscalerBehavior CalmScaleDown() => new()
    {
        ScaleDown = new V2HPAScalingRules
        {
            StabilizationWindowSeconds = 300,
            Policies = [new V2HPAScalingPolicy { Type = "Percent", Value = 50, PeriodSeconds = 60 }],
        },
    };
}
