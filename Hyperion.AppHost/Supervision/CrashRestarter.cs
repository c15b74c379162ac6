using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hyperion.AppHost.Supervision;

/// <summary>
/// Starts a crashed resource again, with back-off, as a process supervisor would. DCP reports a process that exited
/// on its own as "Finished", and one it stops on request (the dashboard's Stop, a test) passes through "Stopping" first
/// (and may then end "Finished" too, when it exits cleanly on the signal): only an exit straight from running is a crash. The restart is Aspire's own start command, so the dashboard shows it as any start, and the
/// reason goes to the resource's log beside its last output.
/// </summary>
public sealed partial class CrashRestarter(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    ResourceLoggerService resourceLogs,
    IOptions<SupervisionOptions> options,
    TimeProvider time,
    ILogger<CrashRestarter> logger) : BackgroundService
{
    /// <summary>A process that ran this long before it crashed starts its back-off from the beginning again.</summary>
    private static readonly TimeSpan s_stableRun = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_firstDelay = TimeSpan.FromSeconds(1);
    private const string StoppingState = "Stopping";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, InstanceHistory> _instances = new(StringComparer.Ordinal);

    /// <summary>How often the resource named <paramref name="resourceName"/> was restarted after a crash.</summary>
    public int RestartsOf(string resourceName) => _instances.Where(i => i.Value.ResourceName == resourceName).Sum(i => i.Value.Restarts);

    /// <summary>Restarts so far, by DCP instance id ("inference-0-abcd1234"); for the dashboard and tests.</summary>
    public const string RestartsProperty = "hyperion.restarts";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (!change.Resource.TryGetLastAnnotation<RestartOnCrashAnnotation>(out _))
                {
                    continue;
                }
                var state = change.Snapshot.State?.Text;
                if (!_instances.TryGetValue(change.ResourceId, out var history))
                {
                    history = new InstanceHistory(change.Resource.Name);
                    _instances[change.ResourceId] = history;
                }
                if (state == KnownResourceStates.Running && history.LastState != KnownResourceStates.Running)
                {
                    history.RunningSince = time.GetUtcNow();
                }
                else if (state is "Finished" or "FailedToStart" && history.LastState is not ("Finished" or "FailedToStart" or "Terminated" or StoppingState)
                    && !stoppingToken.IsCancellationRequested)
                {
                    _ = RestartAsync(change.Resource, change.ResourceId, change.Snapshot.ExitCode, history, stoppingToken);
                }
                if (state != history.LastState)
                {
                    LogTransition(logger, change.ResourceId, history.LastState ?? "(none)", state ?? "(none)", change.Snapshot.ExitCode);
                }
                history.LastState = state;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RestartAsync(IResource resource, string instance, int? exitCode, InstanceHistory history, CancellationToken stoppingToken)
    {
        var ranFor = history.RunningSince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero;
        history.Delay = ranFor >= s_stableRun || history.Delay == TimeSpan.Zero
            ? s_firstDelay
            : TimeSpan.FromTicks(Math.Min(history.Delay.Ticks * 2, TimeSpan.FromSeconds(options.Value.RestartBackoffMaxSeconds).Ticks));
        history.Restarts++;
        var exit = exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown";
        LogCrashed(logger, resource.Name, exit, history.Delay.TotalSeconds, history.Restarts);
        LogCrashed(resourceLogs.GetLogger(instance), resource.Name, exit, history.Delay.TotalSeconds, history.Restarts);
        await notifications.PublishUpdateAsync(resource, instance, snapshot => snapshot with
        {
            Properties = [.. snapshot.Properties.Where(p => p.Name != RestartsProperty), new ResourcePropertySnapshot(RestartsProperty, history.Restarts)],
        });
        try
        {
            await Task.Delay(history.Delay, time, stoppingToken);
            var result = await commands.ExecuteCommandAsync(instance, KnownResourceCommands.StartCommand, stoppingToken);
            if (!result.Success)
            {
                LogRestartFailed(logger, resource.Name, result.Message ?? "no reason given");
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is stopping: nothing to restart.
        }
    }

    private sealed class InstanceHistory(string resourceName)
    {
        public string ResourceName { get; } = resourceName;

        public string? LastState { get; set; }

        public DateTimeOffset? RunningSince { get; set; }

        public TimeSpan Delay { get; set; }

        public int Restarts { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Resource} exited unexpectedly with code {ExitCode}; restarting in {Seconds:0.#} s (restart {Restarts})")]
    private static partial void LogCrashed(ILogger logger, string resource, string exitCode, double seconds, int restarts);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Instance}: {From} -> {To} (exit code {ExitCode})")]
    private static partial void LogTransition(ILogger logger, string instance, string from, string to, int? exitCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Resource} could not be restarted: {Reason}")]
    private static partial void LogRestartFailed(ILogger logger, string resource, string reason);
}
