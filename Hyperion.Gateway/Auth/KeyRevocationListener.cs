using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Gateway.Auth;

/// <summary>
/// Evicts a key the moment the orchestrator announces its revocation (<see cref="ControlPlaneChannels.KeyRevoked"/>).
/// Notices published while Redis was unreachable are lost, so the whole cache is dropped after a reconnect.
/// </summary>
internal sealed partial class KeyRevocationListener(IConnectionMultiplexer redis, ApiKeyCache cache, ILogger<KeyRevocationListener> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored += (_, _) => cache.Clear();
        // Not awaited: with Redis down at start the subscription waits for a connection, start-up must not.
        _ = SubscribeAsync();
        return Task.CompletedTask;
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(ControlPlaneChannels.KeyRevoked), (_, message) =>
            {
                if (KeyHash.TryParseHex(((string?)message).AsSpan(), out var hash))
                {
                    cache.Revoke(hash);
                }
            });
        }
        catch (RedisException ex)
        {
            // The subscription is restored by the multiplexer once Redis is back; until then keys live out their TTL.
            LogSubscribeFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to key revocation notices now")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);
}
