using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Pipelines;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// The routing table as the hot path reads it: per model its arms, and per version the replica URLs where it is
/// ready and the rewritten path prefixes, all computed once when the table arrives. Immutable; replaced whole.
/// </summary>
internal sealed class RoutingSnapshot
{
    public static RoutingSnapshot Empty { get; } = new([], [], new Dictionary<string, string>(), [], loaded: false);

    private readonly Dictionary<string, ModelPolicy> _models;
    private readonly Dictionary<string, PipelinePlan> _pipelines;
    private readonly IReadOnlyDictionary<string, string> _teams;

    private RoutingSnapshot(
        Dictionary<string, ModelPolicy> models, Dictionary<string, PipelinePlan> pipelines, IReadOnlyDictionary<string, string> teams, IReadOnlyList<ReplicaEndpoint> replicas, bool loaded)
    {
        _models = models;
        _pipelines = pipelines;
        _teams = teams;
        Replicas = replicas;
        Loaded = loaded;
    }

    /// <summary>Live replicas as the orchestrator knows them.</summary>
    public IReadOnlyList<ReplicaEndpoint> Replicas { get; }

    /// <summary>False until a table was fetched from the orchestrator.</summary>
    public bool Loaded { get; }

    public int ModelCount => _models.Count;

    public ModelPolicy? Find(string model) => _models.GetValueOrDefault(model);

    /// <summary>The team <paramref name="model"/> belongs to; null when it has none, or the gateway does not know it.</summary>
    public string? TeamOf(string model) => _teams.GetValueOrDefault(model);

    /// <summary>The pipeline's current revision, or null when the gateway knows no pipeline of that name.</summary>
    public PipelinePlan? FindPipeline(string pipeline) => _pipelines.GetValueOrDefault(pipeline);

    public static RoutingSnapshot From(RoutingTable table)
    {
        var replicas = new Dictionary<string, ReplicaEndpoint>(StringComparer.Ordinal);
        foreach (var replica in table.Replicas)
        {
            replicas[replica.Id] = replica;
        }
        var models = new Dictionary<string, ModelPolicy>(StringComparer.Ordinal);
        foreach (var route in table.Models)
        {
            models[route.Model] = ModelPolicy.From(route, replicas);
        }
        var pipelines = new Dictionary<string, PipelinePlan>(StringComparer.Ordinal);
        foreach (var route in table.Pipelines ?? [])
        {
            if (PipelinePlan.From(route) is { } plan)
            {
                pipelines[route.Name] = plan;
            }
        }
        var teams = table.ModelTeams is null ? new Dictionary<string, string>() : new Dictionary<string, string>(table.ModelTeams, StringComparer.Ordinal);
        return new RoutingSnapshot(models, pipelines, teams, table.Replicas, loaded: true);
    }

    /// <summary>URLs compare without a trailing slash.</summary>
    public static string NormalizeUrl(string url) => url.TrimEnd('/');
}

/// <summary>One deployment's traffic policy, ready to route by.</summary>
internal sealed class ModelPolicy
{
    private readonly Dictionary<long, RoutedArm> _pinned = [];

    private ModelPolicy(string model) => Model = model;

    public string Model { get; }

    public long Revision { get; private init; }

    public VersionTarget? Stable { get; private init; }

    public VersionTarget? Canary { get; private init; }

    /// <summary>0..10000: the canary's share in hundredths of a percent.</summary>
    public int CanaryBasisPoints { get; private init; }

    public VersionTarget? Shadow { get; private init; }

    public int ShadowBasisPoints { get; private init; }

    public CachePolicy Cache { get; private init; } = new(false, 0);

    /// <summary>0..10000: the share of requests captured for model monitoring, in hundredths of a percent.</summary>
    public int CaptureBasisPoints { get; private init; }

    /// <summary>The stable arm as routed (one object per table, not per request).</summary>
    public RoutedArm? StableArm { get; private set; }

    public RoutedArm? CanaryArm { get; private set; }

    /// <summary>
    /// The arm for a version the client asked for explicitly, when the deployment serves it on some replica; null
    /// otherwise (not a number, or not ready anywhere: the replica says what is wrong with it).
    /// </summary>
    public RoutedArm? FindPinnedArm(string requestedVersion) =>
        long.TryParse(requestedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? _pinned.GetValueOrDefault(version) : null;

    public static ModelPolicy From(ModelRoute route, IReadOnlyDictionary<string, ReplicaEndpoint> replicas)
    {
        var versions = new Dictionary<long, VersionTarget>();
        foreach (var version in route.Versions)
        {
            versions[version.Version] = VersionTarget.From(route.Model, version, replicas);
        }
        VersionTarget? Target(long? version) => version is { } v && versions.TryGetValue(v, out var target) && target.HttpUrls.Count > 0 ? target : null;
        var policy = new ModelPolicy(route.Model)
        {
            Revision = route.Revision,
            Stable = Target(route.Stable),
            Canary = Target(route.Canary?.Version),
            CanaryBasisPoints = BasisPoints(route.Canary?.Percent),
            Shadow = Target(route.Shadow?.Version),
            ShadowBasisPoints = BasisPoints(route.Shadow?.Percent),
            Cache = route.Cache ?? new CachePolicy(false, 0),
            CaptureBasisPoints = BasisPoints(route.CapturePercent),
        };
        policy.StableArm = policy.Stable is { } stable ? new RoutedArm(policy, stable, Contracts.ControlPlane.ArmStatisticsKeys.Stable) : null;
        policy.CanaryArm = policy.Canary is { } canary ? new RoutedArm(policy, canary, Contracts.ControlPlane.ArmStatisticsKeys.Canary) : null;
        foreach (var (version, target) in versions)
        {
            if (target.HttpUrls.Count > 0)
            {
                policy._pinned[version] = new RoutedArm(policy, target, RoutedArm.Pinned);
            }
        }
        return policy;
    }

    private static int BasisPoints(double? percent) => percent is { } p ? (int)Math.Round(Math.Clamp(p, 0, 100) * 100) : 0;
}

/// <summary>One version of a model: where it is ready and how paths to it are written.</summary>
internal sealed class VersionTarget
{
    public required string Model { get; init; }

    public required long Version { get; init; }

    /// <summary>The version as text (header value, gRPC field).</summary>
    public required string VersionText { get; init; }

    /// <summary><c>/v2/models/{m}/versions/{v}</c>, unescaped as <see cref="HttpRequest.Path"/> holds paths.</summary>
    public required string V2Prefix { get; init; }

    /// <summary><c>/v1/models/{m}/versions/{v}</c>.</summary>
    public required string V1Prefix { get; init; }

    /// <summary>REST URLs of the replicas where the version is ready (normalized).</summary>
    public required IReadOnlySet<string> HttpUrls { get; init; }

    /// <summary>gRPC URLs of those replicas (normalized).</summary>
    public required IReadOnlySet<string> GrpcUrls { get; init; }

    public static VersionTarget From(string model, VersionReplicas version, IReadOnlyDictionary<string, ReplicaEndpoint> replicas)
    {
        var http = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var grpc = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in version.ReadyOn)
        {
            if (replicas.TryGetValue(id, out var replica))
            {
                http.Add(RoutingSnapshot.NormalizeUrl(replica.HttpUrl));
                if (replica.GrpcUrl is { Length: > 0 } grpcUrl)
                {
                    grpc.Add(RoutingSnapshot.NormalizeUrl(grpcUrl));
                }
            }
        }
        var text = version.Version.ToString(CultureInfo.InvariantCulture);
        return new VersionTarget
        {
            Model = model,
            Version = version.Version,
            VersionText = text,
            V2Prefix = $"/v2/models/{model}/versions/{text}",
            V1Prefix = $"/v1/models/{model}/versions/{text}",
            HttpUrls = http,
            GrpcUrls = grpc,
        };
    }
}
