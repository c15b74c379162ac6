using Hyperion.Contracts.ControlPlane;
using StackExchange.Redis;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// Tells every gateway that a key was revoked (<see cref="ControlPlaneChannels.KeyRevoked"/>, the key's hash in
/// lowercase hex) so their caches drop it at once. Sent after the revocation commits; a Redis outage is logged,
/// not thrown: the revocation stands, and gateways also expire cached keys by TTL.
/// </summary>
internal sealed partial class KeyRevokedNotices(IConnectionMultiplexer redis, ILogger<KeyRevokedNotices> logger)
{
    // Long enough for a healthy Redis under load, short enough that a DELETE does not hang while Redis is down.
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(2);

    private static readonly RedisChannel Channel = RedisChannel.Literal(ControlPlaneChannels.KeyRevoked);

    public async Task PublishAsync(Guid keyId, byte[] keyHash)
    {
        try
        {
            // Not the request's token: the revocation is committed, the notice should go out even if the caller left.
            await redis.GetSubscriber().PublishAsync(Channel, Convert.ToHexStringLower(keyHash)).WaitAsync(PublishTimeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogNotPublished(logger, keyId, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Key {KeyId} is revoked, but the notice to gateways could not be published on Redis; gateways drop it when their cache entry expires")]
    private static partial void LogNotPublished(ILogger logger, Guid keyId, Exception exception);
}
