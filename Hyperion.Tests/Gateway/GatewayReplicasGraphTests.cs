using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;

namespace Hyperion.Tests.Gateway;

/// <summary>Gateway replicas in the declared graph: the first keeps the well-known port, the others get free ones.</summary>
public sealed class GatewayReplicasGraphTests
{
    [Fact]
    public async Task The_first_gateway_replica_keeps_the_configured_port()
    {
        using var state = new TemporaryDirectory("hyperion-gw-ports");
        var port = FreePort();
        var builder = DistributedApplicationTestingBuilder.CreateHyperion(state.Path, settings: new Dictionary<string, string?>
        {
            ["Hyperion:GatewayPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Hyperion:GatewayReplicas"] = "3",
        });
        await using var app = builder.Build();
        var ports = Enumerable.Range(0, 3).Select(replica => app.GetEndpoint("gateway", "http", replica).Port).ToList();
        Assert.Equal(port, ports[0]);
        Assert.Equal(3, ports.Distinct().Count());
        Assert.Equal(3, Enumerable.Range(0, 3).Select(replica => app.GetEndpoint("gateway", "grpc", replica).Port).Distinct().Count());
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
