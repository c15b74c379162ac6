using System.Threading.Channels;
using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Tests.ControlPlane;

/// <summary>A gateway's view of revocations: a real subscriber on <see cref="ControlPlaneChannels.KeyRevoked"/>.</summary>
internal sealed class KeysRevokedChannel : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly Channel<string> _received = Channel.CreateUnbounded<string>();

    private KeysRevokedChannel(ConnectionMultiplexer redis) => _redis = redis;

    public static async Task<KeysRevokedChannel> SubscribeAsync(string connectionString)
    {
        var channel = new KeysRevokedChannel(await ConnectionMultiplexer.ConnectAsync(connectionString));
        await channel._redis.GetSubscriber().SubscribeAsync(
            RedisChannel.Literal(ControlPlaneChannels.KeyRevoked),
            (_, message) => channel._received.Writer.TryWrite(message.ToString()));
        return channel;
    }

    /// <summary>Whether <paramref name="hashHex"/> arrives within <paramref name="timeout"/> (other revocations may come first).</summary>
    public async Task<bool> ReceivesAsync(string hashHex, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                if (await _received.Reader.ReadAsync(deadline.Token) == hashHex)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();
}
