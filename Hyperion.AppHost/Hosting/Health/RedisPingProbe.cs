using System.Net.Sockets;
using System.Text;

namespace Hyperion.AppHost.Hosting;

/// <summary>Healthy when Redis accepts the password and answers PING with PONG (not LOADING).</summary>
internal sealed class RedisPingProbe(int port, string password) : IHealthProbe
{
    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(EndpointAnnotation.Host, port, cancellationToken);
        var stream = client.GetStream();
        var command = $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command), cancellationToken);

        var buffer = new byte[256];
        var received = new StringBuilder();
        while (CountLines(received) < 2)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return false;
            }
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return received.ToString() == "+OK\r\n+PONG\r\n";
    }

    private static int CountLines(StringBuilder text)
    {
        var count = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                count++;
            }
        }
        return count;
    }
}
