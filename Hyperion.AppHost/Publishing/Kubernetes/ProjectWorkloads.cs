using System.Globalization;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>One Deployment of a project: the project, the pool, and the Deployment's name.</summary>
internal sealed record ProjectDeployment(PublishedProject Project, WorkloadProfile Profile, WorkloadPool Pool, string Name)
{
    public int MinReplicas => Pool.MinReplicas ?? Project.Replicas;

    public int MaxReplicas => Math.Max(Pool.MaxReplicas, MinReplicas);
}

/// <summary>
/// A project as Kubernetes runs it: a ServiceAccount, a Service over all its pools, per pool a Deployment and a
/// PodDisruptionBudget, and a PersistentVolumeClaim when its profile keeps state. Environment that is the
/// same everywhere is set here; what depends on where the backing services live is left to the overlays.
/// </summary>
internal sealed class ProjectWorkloads(PublishOptions options, KubernetesValues values)
{
    private const int StartupPeriodSeconds = 5;
    private const string PodIpVariable = "POD_IP";

    public static IReadOnlyList<ProjectDeployment> DeploymentsOf(PublishedProject project)
    {
        var profile = HyperionWorkloads.For(project.Name);
        if (profile.PersistentStateSize is not null && (project.Replicas > 1 || profile.Pools.Count > 1 || profile.Scaling is not null))
        {
            throw new InvalidOperationException(
                $"'{project.Name}' keeps its state on one volume (ReadWriteOnce), so it runs as one replica in one pool without autoscaling; the graph asks for {project.Replicas} replicas.");
        }
        return [.. profile.Pools.Select(pool => new ProjectDeployment(
            project, profile, pool, pool.Name is null || profile.Pools.Count == 1 ? project.Name : $"{project.Name}-{pool.Name}"))];
    }

    public IEnumerable<object> Objects(PublishedProject project)
    {
        var deployments = DeploymentsOf(project);
        var profile = deployments[0].Profile;
        yield return ServiceAccount(project.Name, options.Namespace);
        yield return Service(project);
        if (profile.PersistentStateSize is { } size)
        {
            yield return StateClaim(project.Name, size);
        }
        foreach (var deployment in deployments)
        {
            yield return Deployment(deployment);
            yield return DisruptionBudget(deployment);
        }
    }

    /// <summary>A resource's own ServiceAccount, without an API token (also the drift schedule's: <see cref="DriftSchedule"/>).</summary>
    public static V1ServiceAccount ServiceAccount(string resource, string @namespace) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = KubernetesLabels.Metadata(resource, @namespace, resource),
        // Nothing here calls the Kubernetes API: no token in the pods.
        AutomountServiceAccountToken = false,
    };

    private V1Service Service(PublishedProject project) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = KubernetesLabels.Metadata(project.Name, options.Namespace, project.Name),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = KubernetesLabels.Selector(project.Name),
            Ports = [.. project.Bindings.Select(ServicePort)],
        },
    };

    public static V1ServicePort ServicePort(PublishedBinding binding) => new()
    {
        Name = binding.Name,
        Port = binding.ServicePort,
        TargetPort = binding.Name,
        Protocol = "TCP",
        // Tells meshes and gateways to speak cleartext HTTP/2 to a gRPC port.
        AppProtocol = binding.Transport switch
        {
            "http2" => "kubernetes.io/h2c",
            "http" => "http",
            _ => null,
        },
    };

    private V1PersistentVolumeClaim StateClaim(string resource, string size) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = KubernetesLabels.Metadata(StateClaimName(resource), options.Namespace, resource),
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(size) } },
        },
    };

    private static string StateClaimName(string resource) => $"{resource}-state";

    private V1Deployment Deployment(ProjectDeployment deployment)
    {
        var (project, profile, pool) = (deployment.Project, deployment.Profile, deployment.Pool);
        var autoscaled = profile.Scaling is not null;
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = KubernetesLabels.Metadata(deployment.Name, options.Namespace, project.Name, PoolLabel(deployment)),
            Spec = new V1DeploymentSpec
            {
                // An autoscaler owns the count; a replica count here would reset it on every apply.
                Replicas = autoscaled ? null : deployment.MinReplicas,
                RevisionHistoryLimit = 5,
                Selector = KubernetesLabels.SelectorOf(project.Name, PoolLabel(deployment)),
                Strategy = Strategy(profile, pool),
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = KubernetesLabels.For(project.Name, PoolLabel(deployment)) },
                    Spec = PodSpec(deployment),
                },
            },
        };
    }

    /// <summary>
    /// Voluntary disruptions (node drains, upgrades) take one pod at a time: the others keep serving, and a
    /// single-replica Deployment can still be drained.
    /// </summary>
    private V1PodDisruptionBudget DisruptionBudget(ProjectDeployment deployment) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = KubernetesLabels.Metadata(deployment.Name, options.Namespace, deployment.Project.Name, PoolLabel(deployment)),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = 1,
            Selector = KubernetesLabels.SelectorOf(deployment.Project.Name, PoolLabel(deployment)),
        },
    };

    /// <summary>The pool as a label when a project has several; a single pool needs none.</summary>
    public static string? PoolLabel(ProjectDeployment deployment) => deployment.Profile.Pools.Count > 1 ? deployment.Pool.Name : null;

    private static V1DeploymentStrategy Strategy(WorkloadProfile profile, WorkloadPool pool)
    {
        if (profile.PersistentStateSize is not null)
        {
            // A ReadWriteOnce volume cannot be attached to the old and the new pod at once.
            return new V1DeploymentStrategy { Type = "Recreate" };
        }
        // Without a spare GPU a surge pod never schedules: replace GPU pods one at a time instead.
        return new V1DeploymentStrategy
        {
            Type = "RollingUpdate",
            RollingUpdate = pool.Gpu is null
                ? new V1RollingUpdateDeployment { MaxSurge = "25%", MaxUnavailable = 0 }
                : new V1RollingUpdateDeployment { MaxSurge = 0, MaxUnavailable = 1 },
        };
    }

    private V1PodSpec PodSpec(ProjectDeployment deployment)
    {
        var (project, profile, pool) = (deployment.Project, deployment.Profile, deployment.Pool);
        var selector = KubernetesLabels.SelectorOf(project.Name, PoolLabel(deployment));
        return new V1PodSpec
        {
            ServiceAccountName = project.Name,
            AutomountServiceAccountToken = false,
            SecurityContext = PodSecurity.Pod(PodSecurity.DotNetAppUserId),
            TerminationGracePeriodSeconds = profile.TerminationGracePeriodSeconds,
            Containers = [Container(deployment)],
            Volumes =
            [
                PodSecurity.EmptyDir(PodSecurity.TempVolume, "256Mi"),
                profile.PersistentStateSize is null
                    ? PodSecurity.EmptyDir(PodSecurity.StateVolume, profile.ScratchSize)
                    : new V1Volume
                    {
                        Name = PodSecurity.StateVolume,
                        PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = StateClaimName(project.Name) },
                    },
                .. DirectoryVolumes(deployment).Select(v => PodSecurity.EmptyDir(v.Name, v.SizeLimit)),
            ],
            // Replicas on different zones, then nodes, where the cluster has them; never a reason not to schedule.
            TopologySpreadConstraints =
            [
                new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "topology.kubernetes.io/zone", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = selector },
                new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = selector },
            ],
            NodeSelector = pool.Gpu is null ? null : new Dictionary<string, string> { [GpuRequirement.PresentLabel] = "true" },
            Affinity = pool.Gpu is { } gpu ? GpuAffinity(gpu) : null,
            Tolerations = pool.Gpu is null
                ? null
                : [new V1Toleration { Key = GpuRequirement.ResourceName, OperatorProperty = "Exists", Effect = "NoSchedule" }],
        };
    }

    /// <summary>Prefers the listed GPU models, best first, without refusing other GPU nodes.</summary>
    private static V1Affinity GpuAffinity(GpuRequirement gpu) => new()
    {
        NodeAffinity = new V1NodeAffinity
        {
            PreferredDuringSchedulingIgnoredDuringExecution = [.. gpu.PreferredProducts.Select((product, rank) => new V1PreferredSchedulingTerm
            {
                Weight = 100 - (rank * 10),
                Preference = new V1NodeSelectorTerm
                {
                    MatchExpressions = [new V1NodeSelectorRequirement { Key = GpuRequirement.ProductLabel, OperatorProperty = "In", Values = [product] }],
                },
            })],
        },
    };

    private V1Container Container(ProjectDeployment deployment)
    {
        var (project, profile, pool) = (deployment.Project, deployment.Profile, deployment.Pool);
        var image = options.ImageOf(project.Name, pool.ImageTagSuffix);
        return new V1Container
        {
            Name = project.Name,
            Image = image,
            ImagePullPolicy = options.Tag == "latest" ? "Always" : "IfNotPresent",
            Ports = [.. project.Bindings.Select(b => new V1ContainerPort { Name = b.Name, ContainerPort = b.TargetPort, Protocol = "TCP" })],
            Env = Environment(deployment),
            Resources = Resources(pool),
            StartupProbe = HttpProbe(profile.StartupPath, StartupPeriodSeconds,
                failureThreshold: (int)Math.Ceiling(profile.StartupBudget.TotalSeconds / StartupPeriodSeconds)),
            ReadinessProbe = HttpProbe(profile.ReadinessPath, periodSeconds: 10, failureThreshold: 3),
            LivenessProbe = HttpProbe(profile.LivenessPath, periodSeconds: 10, failureThreshold: 3),
            SecurityContext = PodSecurity.Container(),
            VolumeMounts =
            [
                PodSecurity.Mount(PodSecurity.TempVolume, ContainerPaths.Temp),
                PodSecurity.Mount(PodSecurity.StateVolume, ContainerPaths.State),
                .. DirectoryVolumes(deployment).Select(v => PodSecurity.Mount(v.Name, v.Path)),
            ],
        };
    }

    /// <summary>The profile's directory volumes, at the paths the graph's variables hold.</summary>
    private IEnumerable<(string Name, string Path, string SizeLimit)> DirectoryVolumes(ProjectDeployment deployment) =>
        deployment.Profile.DirectoryVolumes.Select((volume, index) =>
        {
            var expression = deployment.Project.Environment.FirstOrDefault(v => v.Key == volume.Key).Value
                ?? throw new InvalidOperationException($"'{deployment.Project.Name}' should have a folder at {volume.Key}, but the graph does not set {volume.Key}.");
            var path = values.Resolve(expression);
            if (!path.IsPlain || !path.Text.StartsWith('/'))
            {
                throw new InvalidOperationException($"{volume.Key} of '{deployment.Project.Name}' is '{expression}'; a volume needs an absolute container path.");
            }
            // Named after the folder ("models"), a DNS label as volume names must be.
            var folder = new string([.. Path.GetFileName(path.Text.TrimEnd('/')).ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '-')]).Trim('-');
            var name = folder.Length is > 0 and <= 50 && folder is not (PodSecurity.TempVolume or PodSecurity.StateVolume) ? folder : $"directory-{index}";
            return (name, path.Text, volume.Value);
        });

    /// <summary>The graph's variables that are the same in every environment, then what the pool adds.</summary>
    private List<V1EnvVar> Environment(ProjectDeployment deployment)
    {
        var environment = new List<V1EnvVar>();
        foreach (var (name, expression) in deployment.Project.Environment)
        {
            var value = values.Resolve(expression);
            if (value.IsPlain)
            {
                environment.Add(new V1EnvVar { Name = name, Value = value.Text });
            }
        }
        var profile = deployment.Profile;
        // What the pool sets wins over what the graph declares under the same name: one variable, not two.
        environment.RemoveAll(v => v.Name == profile.PoolVariable || profile.PodUrlVariables.ContainsKey(v.Name) || v.Name == PodIpVariable);
        if (profile.PoolVariable is { } poolVariable && deployment.Pool.Name is { } pool)
        {
            environment.Add(new V1EnvVar { Name = poolVariable, Value = pool });
        }
        if (profile.PodUrlVariables.Count > 0)
        {
            environment.Add(new V1EnvVar
            {
                Name = PodIpVariable,
                ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } },
            });
            foreach (var (variable, endpoint) in profile.PodUrlVariables)
            {
                var binding = deployment.Project.Bindings.FirstOrDefault(b => b.Name == endpoint)
                    ?? throw new InvalidOperationException($"'{deployment.Project.Name}' should tell its pods their {endpoint} URL in {variable}, but it has no endpoint '{endpoint}'.");
                environment.Add(new V1EnvVar
                {
                    Name = variable,
                    Value = $"{binding.Scheme}://$({PodIpVariable}):{binding.TargetPort.ToString(CultureInfo.InvariantCulture)}",
                });
            }
        }
        return environment;
    }

    private static V1ResourceRequirements Resources(WorkloadPool pool)
    {
        var requests = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(pool.Sizing.CpuRequest),
            ["memory"] = new(pool.Sizing.MemoryRequest),
        };
        var limits = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(pool.Sizing.CpuLimit),
            ["memory"] = new(pool.Sizing.MemoryLimit),
        };
        if (pool.Gpu is { } gpu)
        {
            // Extended resources are not overcommitted: the request must equal the limit.
            var count = new ResourceQuantity(gpu.Count.ToString(CultureInfo.InvariantCulture));
            requests[GpuRequirement.ResourceName] = count;
            limits[GpuRequirement.ResourceName] = count;
        }
        return new V1ResourceRequirements { Requests = requests, Limits = limits };
    }

    private static V1Probe HttpProbe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = "http" },
        PeriodSeconds = periodSeconds,
        TimeoutSeconds = 3,
        FailureThreshold = failureThreshold,
    };
}
