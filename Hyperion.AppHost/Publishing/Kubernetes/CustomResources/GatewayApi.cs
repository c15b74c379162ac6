using System.Text.Json.Serialization;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes.CustomResources;

/// <summary>Gateway API's Gateway (gateway.networking.k8s.io/v1): the public listeners, served by the cluster's GatewayClass.</summary>
internal sealed record GatewayApiGateway
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "gateway.networking.k8s.io/v1";

    [JsonPropertyName("kind")]
    public string Kind => "Gateway";

    [JsonPropertyName("metadata")]
    public required V1ObjectMeta Metadata { get; init; }

    [JsonPropertyName("spec")]
    public required GatewaySpec Spec { get; init; }
}

internal sealed record GatewaySpec
{
    [JsonPropertyName("gatewayClassName")]
    public required string GatewayClassName { get; init; }

    [JsonPropertyName("listeners")]
    public required IReadOnlyList<GatewayListener> Listeners { get; init; }
}

internal sealed record GatewayListener
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>HTTP serves HTTPRoutes and GRPCRoutes.</summary>
    [JsonPropertyName("protocol")]
    public required string Protocol { get; init; }

    [JsonPropertyName("port")]
    public required int Port { get; init; }

    [JsonPropertyName("allowedRoutes")]
    public GatewayAllowedRoutes? AllowedRoutes { get; init; }
}

internal sealed record GatewayAllowedRoutes
{
    [JsonPropertyName("namespaces")]
    public GatewayRouteNamespaces? Namespaces { get; init; }
}

internal sealed record GatewayRouteNamespaces
{
    [JsonPropertyName("from")]
    public required string From { get; init; }
}

/// <summary>HTTPRoute or GRPCRoute (gateway.networking.k8s.io/v1): the same shape for what is used here.</summary>
internal sealed record GatewayApiRoute
{
    public const string Http = "HTTPRoute";
    public const string Grpc = "GRPCRoute";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion => "gateway.networking.k8s.io/v1";

    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    [JsonPropertyName("metadata")]
    public required V1ObjectMeta Metadata { get; init; }

    [JsonPropertyName("spec")]
    public required GatewayRouteSpec Spec { get; init; }
}

internal sealed record GatewayRouteSpec
{
    [JsonPropertyName("parentRefs")]
    public required IReadOnlyList<GatewayParentReference> ParentRefs { get; init; }

    [JsonPropertyName("rules")]
    public required IReadOnlyList<GatewayRouteRule> Rules { get; init; }
}

internal sealed record GatewayParentReference
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("sectionName")]
    public string? SectionName { get; init; }
}

internal sealed record GatewayRouteRule
{
    [JsonPropertyName("matches")]
    public IReadOnlyList<HttpRouteMatch>? Matches { get; init; }

    [JsonPropertyName("backendRefs")]
    public required IReadOnlyList<GatewayBackendReference> BackendRefs { get; init; }
}

internal sealed record HttpRouteMatch
{
    [JsonPropertyName("path")]
    public HttpPathMatch? Path { get; init; }
}

internal sealed record HttpPathMatch
{
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("value")]
    public required string Value { get; init; }
}

internal sealed record GatewayBackendReference
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("port")]
    public required int Port { get; init; }
}
