namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// What the Gateway routes by: each deployment's traffic policy as it is in effect (an arm whose version is not
/// ready yet is left out, so it gets no traffic), the live replicas on which each version is ready, and every
/// pipeline's current revision (the gateway runs them; see <see cref="PipelineRoute"/>).
/// </summary>
/// <param name="ModelTeams">The team of every registered model that has one, deployed or not (the gateway refuses a
/// team's key on another team's model); a model absent here belongs to no team.</param>
public sealed record RoutingTable(
    IReadOnlyList<ReplicaEndpoint> Replicas,
    IReadOnlyList<ModelRoute> Models,
    IReadOnlyList<PipelineRoute>? Pipelines = null,
    IReadOnlyDictionary<string, string>? ModelTeams = null);

public sealed record ReplicaEndpoint(string Id, string Pool, string HttpUrl, string? GrpcUrl);

/// <param name="Stable">The version taking stable traffic; null while no version of the deployment is ready.</param>
/// <param name="Versions">Every version the deployment holds, with the ids of the replicas it is ready on.</param>
/// <param name="CapturePercent">0..100: the share of inference requests (every arm) the gateway captures for model
/// monitoring (<see cref="CaptureStream"/>); 0 when the deployment has no monitoring.</param>
public sealed record ModelRoute(
    string Model,
    long Revision,
    long? Stable,
    TrafficArm? Canary,
    TrafficArm? Shadow,
    CachePolicy Cache,
    IReadOnlyList<VersionReplicas> Versions,
    double CapturePercent = 0);

/// <param name="Percent">0..100: the share of requests (canary) or of copies (shadow) that go to <paramref name="Version"/>.</param>
public sealed record TrafficArm(long Version, double Percent);

public sealed record CachePolicy(bool Enabled, int TtlSeconds);

public sealed record VersionReplicas(long Version, IReadOnlyList<string> ReadyOn);
