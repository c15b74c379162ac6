using System.Text.Json.Serialization;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes.CustomResources;

/// <summary>KEDA's ScaledObject (keda.sh/v1alpha1), the fields used here; KubernetesClient has no types for CRDs.</summary>
internal sealed record KedaScaledObject
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "keda.sh/v1alpha1";

    [JsonPropertyName("kind")]
    public string Kind => "ScaledObject";

    [JsonPropertyName("metadata")]
    public required V1ObjectMeta Metadata { get; init; }

    [JsonPropertyName("spec")]
    public required KedaScaledObjectSpec Spec { get; init; }
}

internal sealed record KedaScaledObjectSpec
{
    [JsonPropertyName("scaleTargetRef")]
    public required KedaScaleTarget ScaleTargetRef { get; init; }

    [JsonPropertyName("pollingInterval")]
    public int? PollingInterval { get; init; }

    [JsonPropertyName("cooldownPeriod")]
    public int? CooldownPeriod { get; init; }

    [JsonPropertyName("minReplicaCount")]
    public int? MinReplicaCount { get; init; }

    [JsonPropertyName("maxReplicaCount")]
    public int? MaxReplicaCount { get; init; }

    [JsonPropertyName("advanced")]
    public KedaAdvanced? Advanced { get; init; }

    [JsonPropertyName("triggers")]
    public required IReadOnlyList<KedaTrigger> Triggers { get; init; }
}

internal sealed record KedaScaleTarget
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; init; }

    [JsonPropertyName("kind")]
    public string? Kind { get; init; }

    [JsonPropertyName("name")]
    public required string Name { get; init; }
}

internal sealed record KedaAdvanced
{
    [JsonPropertyName("horizontalPodAutoscalerConfig")]
    public KedaHpaConfig? HorizontalPodAutoscalerConfig { get; init; }
}

internal sealed record KedaHpaConfig
{
    [JsonPropertyName("behavior")]
    public V2HorizontalPodAutoscalerBehavior? Behavior { get; init; }
}

/// <summary>A scaler; <see cref="Metadata"/> is the scaler's own settings, all strings (KEDA's schema).</summary>
internal sealed record KedaTrigger
{
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("metadata")]
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
}
