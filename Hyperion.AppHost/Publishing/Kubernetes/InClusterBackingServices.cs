using System.Globalization;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// The dev overlay's Redis and PostgreSQL: a StatefulSet per backing service of the public image the manifest
/// names, its data on a PersistentVolumeClaim, its password from the parameters' Secret, and a headless Service
/// under the resource's name, so the connection strings the graph declares reach it unchanged.
/// </summary>
internal sealed class InClusterBackingServices(PublishedGraph graph, PublishOptions options, KubernetesValues values, ParameterSources parameters)
{
    /// <summary>The redis and postgres users of the official images.</summary>
    private const long ImageUserId = 999;

    private const string DataVolume = "data";

    public IEnumerable<object> Objects(PublishedBackingService service)
    {
        yield return new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = KubernetesLabels.Metadata(service.Name, options.Namespace, service.Name),
            AutomountServiceAccountToken = false,
        };
        yield return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = KubernetesLabels.Metadata(service.Name, options.Namespace, service.Name),
            Spec = new V1ServiceSpec
            {
                // Headless: the StatefulSet's governing Service; one pod, so its name is the address.
                ClusterIP = "None",
                Selector = KubernetesLabels.Selector(service.Name),
                Ports = [.. service.Bindings.Select(ProjectWorkloads.ServicePort)],
            },
        };
        if (InitScripts(service) is { } scripts)
        {
            yield return scripts;
        }
        yield return StatefulSet(service);
    }

    private static string InitScriptsName(PublishedBackingService service) => $"{service.Name}-init";

    /// <summary>PostgreSQL creates the graph's databases on its first start, as the local AppHost does.</summary>
    private V1ConfigMap? InitScripts(PublishedBackingService service)
    {
        if (service.Container.Kind != BackingServiceKind.PostgreSql || service.Databases.Count == 0)
        {
            return null;
        }
        var statements = service.Databases
            .Select(name => (PublishedDatabase)graph.Get(name))
            .Select(database => $"CREATE DATABASE \"{database.DatabaseName}\";\n");
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = KubernetesLabels.Metadata(InitScriptsName(service), options.Namespace, service.Name),
            Data = new Dictionary<string, string> { ["10-databases.sql"] = string.Concat(statements) },
        };
    }

    private V1StatefulSet StatefulSet(PublishedBackingService service)
    {
        var container = service.Container;
        var (sizing, storage) = container.Kind switch
        {
            BackingServiceKind.Redis => (new ResourceSizing("100m", "256Mi", "1", "1Gi"), "2Gi"),
            _ => (new ResourceSizing("250m", "512Mi", "2", "2Gi"), "10Gi"),
        };
        var mounts = new List<V1VolumeMount>
        {
            PodSecurity.Mount(DataVolume, container.DataPath),
            PodSecurity.Mount(PodSecurity.TempVolume, ContainerPaths.Temp),
        };
        var volumes = new List<V1Volume> { PodSecurity.EmptyDir(PodSecurity.TempVolume, "256Mi") };
        if (container.Kind == BackingServiceKind.PostgreSql)
        {
            // The server's socket and lock files; the root filesystem is read-only.
            mounts.Add(PodSecurity.Mount("run", "/var/run/postgresql"));
            volumes.Add(PodSecurity.EmptyDir("run", "16Mi"));
            if (service.Databases.Count > 0)
            {
                mounts.Add(new V1VolumeMount { Name = "init", MountPath = "/docker-entrypoint-initdb.d", ReadOnlyProperty = true });
                volumes.Add(new V1Volume { Name = "init", ConfigMap = new V1ConfigMapVolumeSource { Name = InitScriptsName(service) } });
            }
        }

        var environment = new List<V1EnvVar>();
        foreach (var (name, expression) in container.Environment)
        {
            var value = values.Resolve(expression);
            environment.AddRange(parameters.VariablesFor(value.Parameters).Where(v => environment.All(e => e.Name != v.Name)));
            environment.Add(new V1EnvVar { Name = name, Value = value.Text });
        }

        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = KubernetesLabels.Metadata(service.Name, options.Namespace, service.Name),
            Spec = new V1StatefulSetSpec
            {
                ServiceName = service.Name,
                Replicas = 1,
                Selector = KubernetesLabels.SelectorOf(service.Name),
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = KubernetesLabels.For(service.Name) },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = service.Name,
                        AutomountServiceAccountToken = false,
                        SecurityContext = PodSecurity.Pod(ImageUserId),
                        TerminationGracePeriodSeconds = 30,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = service.Name,
                                Image = container.Image,
                                Command = container.Entrypoint is null ? null : [container.Entrypoint],
                                Args = container.Args.Count == 0 ? null : [.. container.Args],
                                Env = environment,
                                Ports = [new V1ContainerPort { Name = service.Primary.Name, ContainerPort = container.Port, Protocol = "TCP" }],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(sizing.CpuRequest), ["memory"] = new(sizing.MemoryRequest) },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(sizing.CpuLimit), ["memory"] = new(sizing.MemoryLimit) },
                                },
                                StartupProbe = ReadyCommand(container, periodSeconds: 5, failureThreshold: 60),
                                ReadinessProbe = ReadyCommand(container, periodSeconds: 10, failureThreshold: 3),
                                LivenessProbe = new V1Probe
                                {
                                    TcpSocket = new V1TCPSocketAction { Port = container.Port },
                                    PeriodSeconds = 10,
                                    TimeoutSeconds = 3,
                                    FailureThreshold = 6,
                                },
                                SecurityContext = PodSecurity.Container(),
                                VolumeMounts = mounts,
                            },
                        ],
                        Volumes = volumes,
                    },
                },
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = DataVolume, Labels = KubernetesLabels.For(service.Name) },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(storage) } },
                        },
                    },
                ],
            },
        };
    }

    /// <summary>Ready when the server answers its own protocol, with the password it was given.</summary>
    private static V1Probe ReadyCommand(BackingServiceContainer container, int periodSeconds, int failureThreshold) => new()
    {
        Exec = new V1ExecAction
        {
            Command = container.Kind switch
            {
                BackingServiceKind.Redis => ["/bin/sh", "-c", "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG"],
                _ => ["pg_isready", "-U", LocalServices.LocalPostgresServerResource.UserName, "-h", "127.0.0.1", "-p", container.Port.ToString(CultureInfo.InvariantCulture)],
            },
        },
        PeriodSeconds = periodSeconds,
        TimeoutSeconds = 5,
        FailureThreshold = failureThreshold,
    };
}
