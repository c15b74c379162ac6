using System.Net;
using System.Net.Sockets;

namespace Hyperion.AppHost.LocalServices;

/// <summary>
/// Free loopback ports for endpoints that DCP does not proxy: it asks a proxy-less endpoint for its port up front.
/// The kernel hands out a free port for port 0; the set remembers what this process already gave away, so two
/// graphs in one test run never get the same port.
/// </summary>
internal static class FreePorts
{
    private static readonly HashSet<int> s_given = [];
    private static readonly Lock s_gate = new();

    public static int Next()
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
