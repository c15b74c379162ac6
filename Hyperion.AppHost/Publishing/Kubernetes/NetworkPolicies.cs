using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// Traffic follows the graph's references and nothing else: everything is denied, then each reference
/// (gateway → inference, orchestrator → PostgreSQL, ...) opens exactly its target's ports, the external
/// endpoints open to everyone, Prometheus may scrape, and every pod may ask the cluster DNS.
/// </summary>
internal sealed class NetworkPolicies(PublishedGraph graph, PublishOptions options)
{
    private const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    public IEnumerable<V1NetworkPolicy> Base()
    {
        yield return Policy("default-deny", new V1LabelSelector(), ["Ingress", "Egress"]);
        yield return AllowDns();
        foreach (var project in graph.Projects)
        {
            yield return ProjectTraffic(project);
            if (HyperionWorkloads.For(project.Name).ExternalEgressPorts is { Count: > 0 } ports)
            {
                var policy = Policy($"{project.Name}-to-outside", KubernetesLabels.SelectorOf(project.Name), ["Egress"]);
                policy.Spec.Egress = [new V1NetworkPolicyEgressRule { To = [Anywhere()], Ports = [.. ports.Select(Port)] }];
                yield return policy;
            }
        }
        foreach (var policy in DriftScheduleTraffic())
        {
            yield return policy;
        }
    }

    /// <summary>The drift schedule's Jobs (<see cref="DriftSchedule"/>) reach the orchestrator's HTTP port and nothing else.</summary>
    private IEnumerable<V1NetworkPolicy> DriftScheduleTraffic()
    {
        if (new DriftSchedule(graph, options).Orchestrator is not { } orchestrator)
        {
            yield break;
        }
        var port = Port(orchestrator.Http.TargetPort);
        var jobs = Policy($"{DriftSchedule.Name}-traffic", KubernetesLabels.SelectorOf(DriftSchedule.Name), ["Ingress", "Egress"]);
        jobs.Spec.Ingress = [];
        jobs.Spec.Egress = [new V1NetworkPolicyEgressRule { To = [PodsOf(orchestrator.Name)], Ports = [port] }];
        yield return jobs;
        var into = Policy($"{orchestrator.Name}-from-{DriftSchedule.Name}", KubernetesLabels.SelectorOf(orchestrator.Name), ["Ingress"]);
        into.Spec.Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [PodsOf(DriftSchedule.Name)], Ports = [port] }];
        yield return into;
    }

    /// <summary>Dev overlay: Redis and PostgreSQL run in the namespace and take connections from their clients only.</summary>
    public IEnumerable<V1NetworkPolicy> InClusterBackingServices()
    {
        var clients = BackingServiceClients();
        foreach (var service in graph.BackingServices)
        {
            var from = clients.Where(c => c.Service == service).Select(c => PodsOf(c.Client.Name)).ToList();
            var policy = Policy($"{service.Name}-traffic", KubernetesLabels.SelectorOf(service.Name), ["Ingress"]);
            policy.Spec.Ingress = from.Count == 0 ? [] : [new V1NetworkPolicyIngressRule { FromProperty = from, Ports = [Port(service.Primary.TargetPort)] }];
            yield return policy;
        }
        foreach (var group in clients.GroupBy(c => c.Client.Name))
        {
            var policy = Policy($"{group.Key}-to-backing-services", KubernetesLabels.SelectorOf(group.Key), ["Egress"]);
            policy.Spec.Egress = [.. group.Select(c => new V1NetworkPolicyEgressRule { To = [PodsOf(c.Service.Name)], Ports = [Port(c.Service.Primary.TargetPort)] })];
            yield return policy;
        }
    }

    /// <summary>
    /// Prod overlay: managed Redis and PostgreSQL live outside the cluster, at addresses only the connection
    /// strings know; their clients may reach their ports anywhere (narrow the CIDR to the provider's range).
    /// </summary>
    public IEnumerable<V1NetworkPolicy> ExternalBackingServices()
    {
        foreach (var group in BackingServiceClients().GroupBy(c => c.Client.Name))
        {
            var policy = Policy($"{group.Key}-to-managed-services", KubernetesLabels.SelectorOf(group.Key), ["Egress"]);
            policy.Spec.Egress =
            [
                new V1NetworkPolicyEgressRule
                {
                    To = [Anywhere()],
                    Ports = [.. group.Select(c => c.Service.Primary.TargetPort).Distinct().Select(Port)],
                },
            ];
            yield return policy;
        }
    }

    private List<(PublishedProject Client, PublishedBackingService Service)> BackingServiceClients() =>
        [.. graph.Projects
            .SelectMany(project => project.References
                .Select(graph.BackingServiceOf)
                .OfType<PublishedBackingService>()
                .Select(service => (project, service)))
            .Distinct()];

    private V1NetworkPolicy ProjectTraffic(PublishedProject project)
    {
        var ports = project.Bindings.Select(b => Port(b.TargetPort)).ToList();
        var ingress = new List<V1NetworkPolicyIngressRule>();
        var clients = graph.Projects.Where(p => p.References.Contains(project.Name)).Select(p => PodsOf(p.Name)).ToList();
        if (clients.Count > 0)
        {
            ingress.Add(new V1NetworkPolicyIngressRule { FromProperty = clients, Ports = ports });
        }
        var external = project.Bindings.Where(b => b.IsExternal).Select(b => Port(b.TargetPort)).ToList();
        if (external.Count > 0)
        {
            // No "from": any source, in the cluster (the Gateway API's proxies) or outside it.
            ingress.Add(new V1NetworkPolicyIngressRule { Ports = external });
        }
        ingress.Add(new V1NetworkPolicyIngressRule
        {
            FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = NamespaceNamed(options.MonitoringNamespace) }],
            Ports = [Port(project.Http.TargetPort)],
        });

        var egress = project.References
            .Select(graph.Get)
            .OfType<PublishedProject>()
            .Select(target => new V1NetworkPolicyEgressRule { To = [PodsOf(target.Name)], Ports = [.. target.Bindings.Select(b => Port(b.TargetPort))] })
            .ToList();

        var policy = Policy($"{project.Name}-traffic", KubernetesLabels.SelectorOf(project.Name), ["Ingress", "Egress"]);
        policy.Spec.Ingress = ingress;
        policy.Spec.Egress = egress;
        return policy;
    }

    private V1NetworkPolicy AllowDns()
    {
        var policy = Policy("allow-dns", new V1LabelSelector(), ["Egress"]);
        policy.Spec.Egress =
        [
            new V1NetworkPolicyEgressRule
            {
                To =
                [
                    new V1NetworkPolicyPeer
                    {
                        NamespaceSelector = NamespaceNamed("kube-system"),
                        PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } },
                    },
                ],
                Ports = [Port(53, "UDP"), Port(53, "TCP")],
            },
        ];
        return policy;
    }

    private V1NetworkPolicy Policy(string name, V1LabelSelector podSelector, IList<string> types) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = options.Namespace,
            Labels = new Dictionary<string, string> { [KubernetesLabels.PartOf] = KubernetesLabels.Application, [KubernetesLabels.ManagedBy] = KubernetesLabels.Manager },
        },
        Spec = new V1NetworkPolicySpec { PodSelector = podSelector, PolicyTypes = types },
    };

    private static V1NetworkPolicyPeer Anywhere() => new() { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0" } };

    private static V1NetworkPolicyPeer PodsOf(string resource) => new() { PodSelector = KubernetesLabels.SelectorOf(resource) };

    private static V1LabelSelector NamespaceNamed(string name) => new() { MatchLabels = new Dictionary<string, string> { [NamespaceNameLabel] = name } };

    private static V1NetworkPolicyPort Port(int port) => Port(port, "TCP");

    private static V1NetworkPolicyPort Port(int port, string protocol) => new() { Port = port, Protocol = protocol };
}
