using Hyperion.Contracts.ControlPlane;
using Hyperion.Inference.Protocol;
using Hyperion.Inference.Repository;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// Keeps this replica converged with the control plane. Two loops, so a long download never delays a heartbeat
/// (a replica that stops heartbeating is dropped from routing):
/// <list type="bullet">
/// <item>heartbeat: at start and every interval, PUT the <see cref="ReplicaReport"/> and keep the answered
/// <see cref="DesiredModelSet"/>; while the Orchestrator is unreachable, retry with backoff and keep serving what is loaded;</item>
/// <item>converge: whenever a desired set arrives, <see cref="ModelConverger.ApplyAsync"/> it; after a change,
/// heartbeat at once so the control plane sees the new state without waiting an interval.</item>
/// </list>
/// </summary>
internal sealed partial class ConvergenceAgent(
    OrchestratorClient orchestrator,
    ModelConverger converger,
    ModelRepository repository,
    ConvergenceMetrics metrics,
    IOptions<ControlPlaneOptions> options,
    IOptions<RepositoryOptions> repositoryOptions,
    IOptions<InferenceProtocolOptions> protocolOptions,
    IConfiguration configuration,
    IServer server,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ConvergenceAgent> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    private readonly Wakeup _heartbeatNow = new();
    private readonly Wakeup _convergeNow = new();
    private volatile DesiredModelSet? _desired;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Advertise only once the server listens, and know the addresses it bound.
        if (!await WaitForStartAsync(stoppingToken))
        {
            return;
        }
        var settings = options.Value;
        var replicaId = repositoryOptions.Value.ReplicaId!;
        var grpcUrl = string.IsNullOrWhiteSpace(protocolOptions.Value.GrpcUrl) ? null : protocolOptions.Value.GrpcUrl.TrimEnd('/');
        string httpUrl;
        try
        {
            httpUrl = ReplicaAddress.Resolve(settings, grpcUrl, configuration, server);
        }
        catch (InvalidOperationException ex)
        {
            LogNoAddress(logger, ex);
            return;
        }
        LogStarting(logger, replicaId, settings.Pool, httpUrl, settings.OrchestratorUrl);

        converger.ClearScratch();
        var converging = ConvergeLoopAsync(stoppingToken);
        await HeartbeatLoopAsync(replicaId, new ReplicaIdentity(settings.Pool, httpUrl, grpcUrl, time.GetUtcNow()), stoppingToken);
        await converging;
    }

    private async Task HeartbeatLoopAsync(string replicaId, ReplicaIdentity identity, CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                var report = new ReplicaReport(identity.Pool, identity.HttpUrl, identity.GrpcUrl, identity.StartedAt, converger.Report(_desired));
                var desired = await orchestrator.HeartbeatAsync(replicaId, report, stoppingToken);
                metrics.RecordHeartbeat(success: true);
                if (failures > 0)
                {
                    LogReconnected(logger, failures);
                }
                failures = 0;
                _desired = desired;
                _convergeNow.Set();
                wait = TimeSpan.FromSeconds(options.Value.HeartbeatIntervalSeconds ?? desired.HeartbeatIntervalSeconds);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                metrics.RecordHeartbeat(success: false);
                failures++;
                wait = Backoff(failures);
                // The first failure and then every tenth: an outage must be visible without flooding the log.
                if (failures == 1 || failures % 10 == 0)
                {
                    LogHeartbeatFailed(logger, ex, failures, wait.TotalSeconds);
                }
            }
            await _heartbeatNow.WaitAsync(wait, stoppingToken);
        }
    }

    private async Task ConvergeLoopAsync(CancellationToken stoppingToken)
    {
        // The repository's start-up scan loads what the folder already holds (a restarted replica serves at once);
        // converging waits for it, so the two never race on one model.
        while (!repository.IsServerReady && !stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            await _convergeNow.WaitAsync(Timeout.InfiniteTimeSpan, stoppingToken);
            if (_desired is not { } desired || stoppingToken.IsCancellationRequested)
            {
                continue;
            }
            try
            {
                if (await converger.ApplyAsync(desired, stoppingToken))
                {
                    _heartbeatNow.Set();
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                // A pass that fails (a full disk, a permission) is logged and tried again on the next heartbeat.
                LogConvergeFailed(logger, ex);
            }
        }
    }

    private async Task<bool> WaitForStartAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return !stoppingToken.IsCancellationRequested;
    }

    private TimeSpan Backoff(int failures)
    {
        var max = TimeSpan.FromSeconds(options.Value.MaxRetryDelaySeconds);
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16)) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        return delay < max ? delay : max;
    }

    private sealed record ReplicaIdentity(string Pool, string HttpUrl, string? GrpcUrl, DateTimeOffset StartedAt);

    /// <summary>A wake-up that is either pending or not: several signals before a wait count as one.</summary>
    private sealed class Wakeup
    {
        private readonly SemaphoreSlim _signal = new(0, 1);

        public void Set()
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already pending.
            }
        }

        public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            _signal.WaitAsync(timeout, cancellationToken).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} joins pool {Pool} at {HttpUrl}; orchestrator {Orchestrator}")]
    private static partial void LogStarting(ILogger logger, string replicaId, string pool, string httpUrl, string orchestrator);

    [LoggerMessage(Level = LogLevel.Error, Message = "Convergence agent not started: the replica's own address is unknown")]
    private static partial void LogNoAddress(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat to the orchestrator failed ({Failures} in a row); serving what is loaded, retrying in {Seconds:F1} s")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, int failures, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Orchestrator reachable again after {Failures} failed heartbeats")]
    private static partial void LogReconnected(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "Converging failed; trying again on the next heartbeat")]
    private static partial void LogConvergeFailed(ILogger logger, Exception exception);
}
