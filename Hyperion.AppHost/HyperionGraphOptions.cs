using System.ComponentModel.DataAnnotations;

namespace Hyperion.AppHost;

/// <summary>The shape of the graph; bound from the "Hyperion" section (e.g. --Hyperion:InferenceReplicas=3).</summary>
public sealed class HyperionGraphOptions
{
    public const string SectionName = "Hyperion";

    [Range(1, 16)]
    public int InferenceReplicas { get; set; } = 2;

    /// <summary>Gateway replicas; they share rate limits, the response cache and statistics through Redis.</summary>
    [Range(1, 16)]
    public int GatewayReplicas { get; set; } = 1;

    /// <summary>The gateway's public port (replica 0's; further replicas get free ports); 0 picks a free one (tests).</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 5080;

    /// <summary>Once the graph is healthy, register and deploy the digits sample (idempotent) so there is a model to call.</summary>
    public bool DeploySample { get; set; } = true;
}
