namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>CPU and memory a container asks for (requests) and may not exceed (limits).</summary>
internal sealed record ResourceSizing(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit)
{
    public static readonly ResourceSizing Default = new("100m", "256Mi", "1", "1Gi");
}

/// <summary>GPUs a pool's pods need, which nodes have them, and the taint those nodes carry.</summary>
/// <param name="PreferredProducts">Values of the GPU operator's <c>nvidia.com/gpu.product</c> node label, best first.</param>
internal sealed record GpuRequirement(int Count, IReadOnlyList<string> PreferredProducts)
{
    public const string ResourceName = "nvidia.com/gpu";

    /// <summary>Set by NVIDIA's GPU feature discovery on every node with a GPU.</summary>
    public const string PresentLabel = "nvidia.com/gpu.present";

    public const string ProductLabel = "nvidia.com/gpu.product";
}

/// <summary>
/// One Deployment of a project: a project with one pool is one Deployment named after it; a project with
/// several (inference on CPU and on GPU nodes) gets one per pool behind one Service.
/// </summary>
/// <param name="Name">Null for the single pool of a project; otherwise part of the Deployment's name and a pod label.</param>
/// <param name="MinReplicas">Null: the replicas the graph declares. Zero lets the autoscaler park the pool.</param>
/// <param name="ImageTagSuffix">A pool whose image differs (CUDA) uses the same name with a tag suffix.</param>
internal sealed record WorkloadPool(string? Name, ResourceSizing Sizing, int? MinReplicas, int MaxReplicas, GpuRequirement? Gpu = null, string ImageTagSuffix = "");

/// <summary>How a project scales.</summary>
internal abstract record ScalingPolicy;

/// <summary>A HorizontalPodAutoscaler on average CPU utilisation (of the requests).</summary>
internal sealed record CpuScaling(int TargetUtilizationPercent) : ScalingPolicy;

/// <summary>
/// A KEDA ScaledObject per pool on a Prometheus query of a queue-depth gauge: enough replicas that each has
/// <see cref="TargetPerReplica"/> requests waiting; a pool at zero wakes once <see cref="ActivationThreshold"/> are waiting.
/// </summary>
internal sealed record QueueDepthScaling(string Metric, int TargetPerReplica, int ActivationThreshold) : ScalingPolicy;

/// <summary>How a project runs on Kubernetes: what the graph cannot say (sizes, pools, scaling, probes' paths).</summary>
internal sealed record WorkloadProfile
{
    public static readonly WorkloadProfile Default = new();

    public IReadOnlyList<WorkloadPool> Pools { get; init; } = [new WorkloadPool(null, ResourceSizing.Default, MinReplicas: null, MaxReplicas: 1)];

    public ScalingPolicy? Scaling { get; init; }

    /// <summary>Ready to take traffic (ServiceDefaults' /health runs every check).</summary>
    public string ReadinessPath { get; init; } = ServiceDefaultsPaths.Health;

    public string LivenessPath { get; init; } = ServiceDefaultsPaths.Alive;

    /// <summary>Liveness is not checked until this answers; a service that loads models waits for them here.</summary>
    public string StartupPath { get; init; } = ServiceDefaultsPaths.Alive;

    /// <summary>How long start-up may take before the pod is restarted.</summary>
    public TimeSpan StartupBudget { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Null: the state folder is scratch space (an emptyDir of <see cref="ScratchSize"/>). Otherwise a
    /// PersistentVolumeClaim of that size, which pins the project to one replica replaced by Recreate.
    /// </summary>
    public string? PersistentStateSize { get; init; }

    public string ScratchSize { get; init; } = "1Gi";

    /// <summary>
    /// Folders the service expects to exist, named by the graph's variables (the model repository): each gets an
    /// emptyDir of its own, mounted at the path the variable holds, with the size limit given.
    /// </summary>
    public IReadOnlyDictionary<string, string> DirectoryVolumes { get; init; } = new Dictionary<string, string>();

    /// <summary>Time to finish in-flight work after SIGTERM.</summary>
    public int TerminationGracePeriodSeconds { get; init; } = 30;

    /// <summary>
    /// Ports the service reaches outside the graph, anywhere (webhook receivers): NetworkPolicies deny every
    /// other egress but to what the graph references.
    /// </summary>
    public IReadOnlyList<int> ExternalEgressPorts { get; init; } = [];

    /// <summary>A variable that tells each pod which pool it belongs to (null: none).</summary>
    public string? PoolVariable { get; init; }

    /// <summary>
    /// Variables that must hold this pod's own URL of an endpoint (variable → endpoint name), at the pod's IP.
    /// Replicas that report where they listen, to be routed to one by one, cannot give a Service's name, which
    /// reaches any replica; these override what the graph sets.
    /// </summary>
    public IReadOnlyDictionary<string, string> PodUrlVariables { get; init; } = new Dictionary<string, string>();
}

/// <summary>The endpoints Hyperion.ServiceDefaults maps in every service.</summary>
internal static class ServiceDefaultsPaths
{
    public const string Health = "/health";
    public const string Alive = "/alive";
    public const string Metrics = "/metrics";
}

/// <summary>
/// Hyperion's services on a cluster. Keyed by resource name; a project the graph gains later gets
/// <see cref="WorkloadProfile.Default"/> until it is given one here.
/// </summary>
internal static class HyperionWorkloads
{
    /// <summary>The gauge Hyperion.Inference exports per model version (Metrics/InferenceMetrics.cs).</summary>
    public const string InferenceQueueDepthMetric = "hyperion_inference_queue_depth";

    public static IReadOnlyDictionary<string, WorkloadProfile> Profiles { get; } = new Dictionary<string, WorkloadProfile>(StringComparer.Ordinal)
    {
        // The only public entry: at least two replicas behind the PDB, more as CPU climbs.
        ["gateway"] = new()
        {
            Pools = [new WorkloadPool(null, new ResourceSizing("250m", "256Mi", "2", "1Gi"), MinReplicas: 2, MaxReplicas: 10)],
            Scaling = new CpuScaling(TargetUtilizationPercent: 70),
        },
        // Owns the artifact store and the bootstrap admin key: a volume that outlives pods, so one replica.
        ["orchestrator"] = new()
        {
            Pools = [new WorkloadPool(null, new ResourceSizing("250m", "512Mi", "2", "2Gi"), MinReplicas: null, MaxReplicas: 1)],
            PersistentStateSize = "20Gi",
            StartupBudget = TimeSpan.FromMinutes(3), // migrations run before it answers
            ExternalEgressPorts = [443, 80], // webhooks (Orchestrator:Webhooks) POST to receivers outside the cluster
        },
        // Ready means the model repository is loaded (OIP's server readiness); loading may take minutes.
        ["inference"] = new()
        {
            Pools =
            [
                new WorkloadPool("cpu", new ResourceSizing("1", "2Gi", "4", "8Gi"), MinReplicas: null, MaxReplicas: 10),
                new WorkloadPool("gpu", new ResourceSizing("2", "8Gi", "8", "16Gi"), MinReplicas: 0, MaxReplicas: 4,
                    new GpuRequirement(1, ["NVIDIA-L4", "NVIDIA-A10G", "Tesla-T4"]), ImageTagSuffix: "-gpu"),
            ],
            Scaling = new QueueDepthScaling(InferenceQueueDepthMetric, TargetPerReplica: 8, ActivationThreshold: 1),
            ReadinessPath = "/v2/health/ready",
            StartupPath = "/v2/health/ready",
            StartupBudget = TimeSpan.FromMinutes(10),
            // The repository the replica downloads models into must exist when it starts, sized for the models.
            DirectoryVolumes = new Dictionary<string, string> { ["Inference__ModelRepository"] = "20Gi" },
            TerminationGracePeriodSeconds = 60, // queued batches drain
            // Hyperion.Inference/ControlPlane/ControlPlaneOptions (section Inference:ControlPlane).
            PoolVariable = "Inference__ControlPlane__Pool",
            PodUrlVariables = new Dictionary<string, string>
            {
                ["Inference__ControlPlane__AdvertisedUrl"] = "http", // REST, reported in each heartbeat
                ["Inference__GrpcUrl"] = "grpc", // where gRPC listens, reported too
            },
        },
    };

    public static WorkloadProfile For(string resourceName) =>
        Profiles.TryGetValue(resourceName, out var profile) ? profile : WorkloadProfile.Default;
}
