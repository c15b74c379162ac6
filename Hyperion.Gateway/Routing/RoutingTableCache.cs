using Hyperion.Contracts.ControlPlane;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// The routing table the gateway routes by: fetched at start, again on every <see cref="ControlPlaneChannels.RoutingChanged"/>
/// notice and every <see cref="RoutingOptions.RefreshSeconds"/>; when the orchestrator cannot be reached the last
/// table stays in force, so routing carries on with the last known policies.
/// </summary>
internal sealed partial class RoutingTableCache(
    ControlPlaneClient controlPlane,
    IConnectionMultiplexer redis,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<RoutingTableCache> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private volatile RoutingSnapshot _current = RoutingSnapshot.Empty;

    public RoutingSnapshot Current => _current;

    /// <summary>Raised after a new table was installed (the proxy's destinations follow the replicas in it).</summary>
    public event Action<RoutingSnapshot>? Changed;

    /// <summary>Ask for a refetch now (a change notice, a reconnect).</summary>
    public void RequestRefresh()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A refetch is already due.
        }
    }

    /// <summary>Routes by <paramref name="snapshot"/> from now on (a fetched table; a test's own).</summary>
    public void Install(RoutingSnapshot snapshot)
    {
        _current = snapshot;
        Changed?.Invoke(snapshot);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Not awaited: with Redis down the subscription waits for a connection; the first fetch must not.
        _ = SubscribeAsync();
        var interval = TimeSpan.FromSeconds(options.Value.Routing.RefreshSeconds);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var ok = await RefreshAsync(stoppingToken);
            failures = ok ? 0 : failures + 1;
            // While the orchestrator is away, ask a little more often (at most once a second) so routing catches up soon after it is back.
            var wait = ok || failures > 5 ? interval : TimeSpan.FromSeconds(Math.Min(1, interval.TotalSeconds));
            try
            {
                await _wake.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> RefreshAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(options.Value.Routing.FetchTimeoutMilliseconds);
        try
        {
            var table = await controlPlane.GetRoutingTableAsync(timeout.Token);
            Install(RoutingSnapshot.From(table));
            metrics.RoutingRefreshed(success: true);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
        {
            metrics.RoutingRefreshed(success: false);
            LogRefreshFailed(logger, ex, _current.Loaded ? "the last known table stays in force" : "no table yet: requests go to any replica");
            return false;
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            var subscriber = redis.GetSubscriber();
            await subscriber.SubscribeAsync(RedisChannel.Literal(ControlPlaneChannels.RoutingChanged), (_, _) => RequestRefresh());
            // Notices sent while Redis was unreachable are lost: refetch after every reconnect.
            redis.ConnectionRestored += (_, _) => RequestRefresh();
        }
        catch (RedisException ex)
        {
            LogSubscribeFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not fetch the routing table ({Consequence})")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string consequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to routing change notices; the table is refetched periodically")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);
}
