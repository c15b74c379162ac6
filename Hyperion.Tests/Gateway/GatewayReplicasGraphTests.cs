using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Hyperion.Tests.Graph;
using Hyperion.Tests.TestSupport;

namespace Hyperion.Tests.Gateway;

/// <summary>Gateway replicas in the declared graph: the first keeps the well-known port, the others get free ones.</summary>
public sealed class GatewayReplicasGraphTests
{
    [Fact]
    public async Task The_first_gateway_replica_keeps_the_configured_port()
    {
        using var state = new TemporaryDirectory("hyperion-gw-ports");
        var port = FreePort();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Hyperion_AppHost>(
            [$"--Hyperion:StateDirectory={state.Path}", $"--Hyperion:GatewayPort={port}", "--Hyperion:GatewayReplicas=3"]);
        var gateways = HyperionAppFixture.ReplicasOf(builder, "gateway");

        Assert.Equal(["gateway-0", "gateway-1", "gateway-2"], gateways.Select(g => g.Resource.Name));
        var ports = gateways.Select(g => PortOf(g.Resource, "http")).ToList();
        Assert.Equal(port, ports[0]);
        Assert.Equal(3, ports.Distinct().Count());
        Assert.Equal(3, gateways.Select(g => PortOf(g.Resource, "grpc")).Distinct().Count());
    }

    private static int PortOf(IResource resource, string endpoint) =>
        resource.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpoint).Port!.Value;

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
