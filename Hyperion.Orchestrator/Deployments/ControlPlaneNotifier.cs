using StackExchange.Redis;

namespace Hyperion.Orchestrator.Deployments;

/// <summary>
/// Publishes change notices on Redis (<see cref="Contracts.ControlPlane.ControlPlaneChannels"/>). A notice only
/// speeds things up (gateways and replicas also poll), so Redis being down is logged and never fails the change.
/// </summary>
internal sealed partial class ControlPlaneNotifier(IConnectionMultiplexer redis, ILogger<ControlPlaneNotifier> logger)
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(1);

    public async Task PublishAsync(string channel, string message)
    {
        if (!redis.IsConnected)
        {
            LogNotPublished(logger, null, channel, message, "Redis is not connected");
            return;
        }
        try
        {
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message).WaitAsync(PublishTimeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogNotPublished(logger, ex, channel, message, "Redis did not take it");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Change notice {Channel} {Message} not published ({Reason}); subscribers catch up on their next poll")]
    private static partial void LogNotPublished(ILogger logger, Exception? exception, string channel, string message, string reason);
}
