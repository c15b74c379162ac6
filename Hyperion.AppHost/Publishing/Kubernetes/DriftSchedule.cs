using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// The drift schedule as a Kubernetes CronJob: every five minutes a Job POSTs <c>/api/v1/drift/run</c> to the
/// orchestrator with an API key (deploy scope) from the Secret <see cref="SecretName"/>, so rounds, their failures and
/// their history show in <c>kubectl get cronjobs,jobs</c>. It is published suspended, beside the orchestrator's own
/// leased schedule: turning it on means creating the Secret, setting
/// <c>Orchestrator__Quality__ComputeOnSchedule=false</c> and unsuspending it (docs/kubernetes.md).
/// </summary>
internal sealed class DriftSchedule(PublishedGraph graph, PublishOptions options)
{
    public const string Name = "drift-schedule";
    public const string SecretName = "hyperion-drift-schedule";
    public const string SecretKey = "api-key";
    public const string Schedule = "*/5 * * * *";

    /// <summary>A small, public image with curl; it runs as its own non-root user.</summary>
    public const string Image = "curlimages/curl:8.11.1";
    private const long CurlUserId = 100;

    public const string OrchestratorName = "orchestrator";
    private const string KeyVariable = "HYPERION_API_KEY";

    /// <summary>The orchestrator the schedule calls; null when the graph has none (then nothing is published).</summary>
    public PublishedProject? Orchestrator => graph.Projects.FirstOrDefault(p => p.Name == OrchestratorName);

    /// <summary>The CronJob and its ServiceAccount (<see cref="NetworkPolicies"/> lets its pods reach the orchestrator).</summary>
    public IReadOnlyList<object> Objects() => Orchestrator is { } orchestrator ? [ProjectWorkloads.ServiceAccount(Name, options.Namespace), CronJob(orchestrator.Http)] : [];

    private V1CronJob CronJob(PublishedBinding http) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "CronJob",
        Metadata = KubernetesLabels.Metadata(Name, options.Namespace, Name),
        Spec = new V1CronJobSpec
        {
            Schedule = Schedule,
            Suspend = true,
            // A round that is still running when the next is due is not doubled: the orchestrator leases rounds anyway.
            ConcurrencyPolicy = "Forbid",
            StartingDeadlineSeconds = 120,
            SuccessfulJobsHistoryLimit = 3,
            FailedJobsHistoryLimit = 3,
            JobTemplate = new V1JobTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = KubernetesLabels.For(Name) },
                Spec = new V1JobSpec
                {
                    BackoffLimit = 2,
                    ActiveDeadlineSeconds = 240,
                    TtlSecondsAfterFinished = 86_400,
                    Template = new V1PodTemplateSpec
                    {
                        Metadata = new V1ObjectMeta { Labels = KubernetesLabels.For(Name) },
                        Spec = new V1PodSpec
                        {
                            ServiceAccountName = Name,
                            AutomountServiceAccountToken = false,
                            RestartPolicy = "Never",
                            SecurityContext = PodSecurity.Pod(CurlUserId),
                            Containers = [Container(http)],
                        },
                    },
                },
            },
        },
    };

    private static V1Container Container(PublishedBinding http) => new()
    {
        Name = "drift-run",
        Image = Image,
        // Kubernetes puts the Secret's key in for $(HYPERION_API_KEY); no shell, so it is never echoed.
        Args =
        [
            "--fail-with-body", "--silent", "--show-error",
            "--max-time", "200", "--retry", "3", "--retry-connrefused",
            "-X", "POST",
            "-H", $"Authorization: Bearer $({KeyVariable})",
            $"http://{OrchestratorName}:{http.ServicePort}/api/v1/drift/run",
        ],
        Env =
        [
            new V1EnvVar
            {
                Name = KeyVariable,
                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = SecretName, Key = SecretKey } },
            },
        ],
        Resources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
            Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") },
        },
        SecurityContext = PodSecurity.Container(),
    };
}
