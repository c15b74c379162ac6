using System.Net;
using System.Net.Sockets;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// Picks free loopback ports. The kernel hands out a free port for port 0; the set remembers what this
/// process already gave away, so two applications in one test run never get the same port.
/// </summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> s_given = [];
    private static readonly Lock s_gate = new();

    public static int Allocate()
    {
        lock (s_gate)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                if (s_given.Add(port))
                {
                    return port;
                }
            }
            throw new InvalidOperationException("Could not find a free loopback port after 50 attempts.");
        }
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
