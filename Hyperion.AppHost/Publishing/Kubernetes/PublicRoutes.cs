using Hyperion.AppHost.Publishing.Kubernetes.CustomResources;
using k8s.Models;

namespace Hyperion.AppHost.Publishing.Kubernetes;

/// <summary>
/// The way in from outside, with the Gateway API: one Gateway with a listener per external endpoint of the
/// graph (the gateway's "http" on port 80), and a route to its Service: an HTTPRoute, or a GRPCRoute for an
/// HTTP/2-only endpoint.
/// </summary>
internal sealed class PublicRoutes(PublishedGraph graph, PublishOptions options)
{
    public const string GatewayName = "hyperion";

    public IReadOnlyList<object> Objects()
    {
        var external = graph.Projects.SelectMany(p => p.Bindings.Where(b => b.IsExternal).Select(b => (Project: p, Binding: b))).ToList();
        if (external.Count == 0)
        {
            return [];
        }
        var objects = new List<object>
        {
            new GatewayApiGateway
            {
                Metadata = Metadata(GatewayName),
                Spec = new GatewaySpec
                {
                    GatewayClassName = options.GatewayClassName,
                    Listeners = [.. external.Select(e => new GatewayListener
                    {
                        Name = ListenerName(e.Project, e.Binding),
                        Protocol = "HTTP",
                        // The main HTTP endpoint on the usual port; any other one on its own port.
                        Port = e.Binding.Name == "http" ? 80 : e.Binding.ServicePort,
                        AllowedRoutes = new GatewayAllowedRoutes { Namespaces = new GatewayRouteNamespaces { From = "Same" } },
                    })],
                },
            },
        };
        objects.AddRange(external.Select(e => Route(e.Project, e.Binding)));
        return objects;
    }

    private GatewayApiRoute Route(PublishedProject project, PublishedBinding binding)
    {
        var grpc = binding.Transport == "http2";
        return new GatewayApiRoute
        {
            Kind = grpc ? GatewayApiRoute.Grpc : GatewayApiRoute.Http,
            Metadata = Metadata(ListenerName(project, binding)),
            Spec = new GatewayRouteSpec
            {
                ParentRefs = [new GatewayParentReference { Name = GatewayName, SectionName = ListenerName(project, binding) }],
                Rules =
                [
                    new GatewayRouteRule
                    {
                        Matches = grpc ? null : [new HttpRouteMatch { Path = new HttpPathMatch { Type = "PathPrefix", Value = "/" } }],
                        BackendRefs = [new GatewayBackendReference { Name = project.Name, Port = binding.ServicePort }],
                    },
                ],
            },
        };
    }

    private static string ListenerName(PublishedProject project, PublishedBinding binding) => $"{project.Name}-{binding.Name}";

    private V1ObjectMeta Metadata(string name) => new()
    {
        Name = name,
        NamespaceProperty = options.Namespace,
        Labels = new Dictionary<string, string> { [KubernetesLabels.PartOf] = KubernetesLabels.Application, [KubernetesLabels.ManagedBy] = KubernetesLabels.Manager },
    };
}
