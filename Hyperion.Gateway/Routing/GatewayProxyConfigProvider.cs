using Hyperion.Gateway.Resilience;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// YARP's routes and clusters, built in code: the inference pool (REST and gRPC) from service discovery's keys
/// (<c>services__inference__http__N</c>, <c>services__inference__grpc__N</c>) plus every replica the routing table
/// names, and the orchestrator. Rebuilt when the routing table brings replicas the pool does not have yet.
/// </summary>
internal sealed class GatewayProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    public const string InferenceCluster = "inference";
    public const string InferenceGrpcCluster = "inference-grpc";
    public const string OrchestratorCluster = "orchestrator";
    public const string KindMetadataKey = "hyperion.kind";

    private readonly IConfiguration _configuration;
    private readonly GatewayOptions _options;
    private readonly RoutingTableCache _routing;
    private readonly Lock _gate = new();
    private ProxyConfig _config;

    public GatewayProxyConfigProvider(IConfiguration configuration, IOptions<GatewayOptions> options, RoutingTableCache routing)
    {
        _configuration = configuration;
        _options = options.Value;
        _routing = routing;
        _config = Build(RoutingSnapshot.Empty);
        _routing.Changed += OnRoutingChanged;
    }

    public IProxyConfig GetConfig() => _config;

    public void Dispose() => _routing.Changed -= OnRoutingChanged;

    private void OnRoutingChanged(RoutingSnapshot snapshot)
    {
        lock (_gate)
        {
            var next = Build(snapshot);
            if (next.SameDestinations(_config))
            {
                return;
            }
            var previous = _config;
            _config = next;
            previous.SignalChange();
        }
    }

    private ProxyConfig Build(RoutingSnapshot snapshot)
    {
        var http = Destinations("inference", "http");
        var grpc = Destinations("inference", "grpc");
        foreach (var replica in snapshot.Replicas)
        {
            http.Add(RoutingSnapshot.NormalizeUrl(replica.HttpUrl));
            if (replica.GrpcUrl is { Length: > 0 } grpcUrl)
            {
                grpc.Add(RoutingSnapshot.NormalizeUrl(grpcUrl));
            }
        }
        var orchestrator = Destinations("orchestrator", "http");

        var resilience = _options.Resilience;
        var health = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = TimeSpan.FromSeconds(resilience.ActiveHealthIntervalSeconds),
                Timeout = TimeSpan.FromSeconds(resilience.ActiveHealthTimeoutSeconds),
                Policy = "ConsecutiveFailures",
                Path = "/v2/health/live",
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = CircuitBreakerPolicy.Name,
                ReactivationPeriod = TimeSpan.FromSeconds(resilience.BreakerCooldownSeconds),
            },
        };
        var timeout = TimeSpan.FromSeconds(resilience.UpstreamTimeoutSeconds);
        var clusters = new List<ClusterConfig>
        {
            Cluster(InferenceCluster, http, health, new ForwarderRequestConfig { ActivityTimeout = timeout, Version = new Version(1, 1), VersionPolicy = HttpVersionPolicy.RequestVersionExact }),
            Cluster(InferenceGrpcCluster, grpc, health with { Active = health.Active with { Enabled = false } },
                new ForwarderRequestConfig { ActivityTimeout = timeout, Version = new Version(2, 0), VersionPolicy = HttpVersionPolicy.RequestVersionExact }),
            Cluster(OrchestratorCluster, orchestrator, new HealthCheckConfig
            {
                Passive = new PassiveHealthCheckConfig { Enabled = true, Policy = CircuitBreakerPolicy.Name, ReactivationPeriod = TimeSpan.FromSeconds(resilience.BreakerCooldownSeconds) },
            }, new ForwarderRequestConfig { ActivityTimeout = timeout }),
        };

        // Inference replicas never see the caller's credential; the orchestrator needs it (it authenticates /api/v1 itself).
        IReadOnlyList<IReadOnlyDictionary<string, string>> inferenceTransforms =
        [
            new Dictionary<string, string> { ["RequestHeaderRemove"] = "Authorization" },
            new Dictionary<string, string> { ["X-Forwarded"] = "Off" },
        ];
        var routes = new List<RouteConfig>
        {
            Route("oip", "/v2/{**rest}", InferenceCluster, inferenceTransforms),
            Route("v1", "/v1/{**rest}", InferenceCluster, inferenceTransforms),
            Route("api", "/api/{**rest}", OrchestratorCluster, null),
        };
        if (!string.IsNullOrWhiteSpace(_options.GrpcUrl))
        {
            routes.Add(Route("grpc", RequestClassifier.GrpcServicePrefix + "{**method}", InferenceGrpcCluster, inferenceTransforms));
        }
        return new ProxyConfig(routes, clusters);
    }

    private static RouteConfig Route(string id, string path, string cluster, IReadOnlyList<IReadOnlyDictionary<string, string>>? transforms) => new()
    {
        RouteId = id,
        ClusterId = cluster,
        Match = new RouteMatch { Path = path },
        Transforms = transforms,
    };

    private static ClusterConfig Cluster(string id, SortedSet<string> urls, HealthCheckConfig health, ForwarderRequestConfig request)
    {
        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var url in urls)
        {
            // The URL is the id: the routing table and service discovery name the same replica by it.
            destinations[url] = new DestinationConfig { Address = url };
        }
        return new ClusterConfig
        {
            ClusterId = id,
            LoadBalancingPolicy = "PowerOfTwoChoices",
            Destinations = destinations,
            HealthCheck = health,
            HttpRequest = request,
            HttpClient = new HttpClientConfig { DangerousAcceptAnyServerCertificate = false, EnableMultipleHttp2Connections = true },
        };
    }

    /// <summary><c>services:{service}:{endpoint}:N</c>, as the AppHost (and Aspire) write them.</summary>
    private SortedSet<string> Destinations(string service, string endpoint)
    {
        var urls = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in _configuration.GetSection($"services:{service}:{endpoint}").GetChildren())
        {
            if (!string.IsNullOrWhiteSpace(entry.Value))
            {
                urls.Add(RoutingSnapshot.NormalizeUrl(entry.Value));
            }
        }
        return urls;
    }

    private sealed class ProxyConfig : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public ProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
        {
            Routes = routes;
            Clusters = clusters;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void SignalChange() => _changed.Cancel();

        public bool SameDestinations(ProxyConfig other)
        {
            for (var i = 0; i < Clusters.Count; i++)
            {
                var mine = Clusters[i].Destinations!;
                var theirs = other.Clusters[i].Destinations!;
                if (mine.Count != theirs.Count)
                {
                    return false;
                }
                foreach (var key in mine.Keys)
                {
                    if (!theirs.ContainsKey(key))
                    {
                        return false;
                    }
                }
            }
            return true;
        }
    }
}
