using System.Text.Json.Serialization;

namespace Hyperion.AppHost.Publishing.Kubernetes.CustomResources;

/// <summary>kustomization.yaml (kustomize.config.k8s.io/v1beta1), the fields used here.</summary>
internal sealed record Kustomization
{
    public const string FileName = "kustomization.yaml";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "kustomize.config.k8s.io/v1beta1";

    [JsonPropertyName("kind")]
    public string Kind => "Kustomization";

    [JsonPropertyName("namespace")]
    public string? Namespace { get; init; }

    [JsonPropertyName("resources")]
    public required IReadOnlyList<string> Resources { get; init; }

    [JsonPropertyName("patches")]
    public IReadOnlyList<KustomizePatch>? Patches { get; init; }

    [JsonPropertyName("secretGenerator")]
    public IReadOnlyList<KustomizeGenerator>? SecretGenerator { get; init; }

    [JsonPropertyName("configMapGenerator")]
    public IReadOnlyList<KustomizeGenerator>? ConfigMapGenerator { get; init; }
}

internal sealed record KustomizePatch
{
    [JsonPropertyName("path")]
    public required string Path { get; init; }
}

/// <summary>A Secret or ConfigMap made from an env file (KEY=value lines) that the operator fills in.</summary>
internal sealed record KustomizeGenerator
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("envs")]
    public required IReadOnlyList<string> Envs { get; init; }
}
