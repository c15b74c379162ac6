using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// Runs one replica of a process resource: launches it in its own process group (so a stop reaches
/// everything it forked, and Ctrl+C in the terminal reaches only the AppHost), captures its output,
/// probes its health, and restarts it with exponential back-off when it exits without being asked to.
/// </summary>
internal sealed partial class ProcessSupervisor
{
    private static readonly TimeSpan s_initialBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_stableRun = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_probeIntervalStarting = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_probeIntervalHealthy = TimeSpan.FromSeconds(5);
    private const int CrashReportLines = 20;

    private readonly ProcessResource _resource;
    private readonly int _replica;
    private readonly HostingContext _context;
    private readonly ResourceNotificationService _notifications;
    private readonly PidFiles _pidFiles;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private bool _stopRequested;
    private Process? _process;
    private Task _run = Task.CompletedTask;

    public ProcessSupervisor(ProcessResource resource, int replica, HostingContext context, ResourceNotificationService notifications, ResourceLog log, PidFiles pidFiles, ILogger logger)
    {
        _resource = resource;
        _replica = replica;
        _context = context;
        _notifications = notifications;
        _pidFiles = pidFiles;
        _logger = logger;
        Log = log;
        InstanceName = resource.GetInstanceName(replica);
    }

    public string InstanceName { get; }

    public ResourceLog Log { get; }

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>Asks the process to stop (SIGTERM, SIGINT for PostgreSQL) and kills its group after the grace period.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var process = RequestStop();
        if (process is not null)
        {
            var pid = process.Id;
            _notifications.Update(InstanceName, s => s.Pid == pid ? s with { State = ResourceState.Stopping } : s);
            NativeMethods.SignalGroup(pid, _resource.StopSignal);
            try
            {
                await _run.WaitAsync(grace);
            }
            catch (TimeoutException)
            {
                LogKilling(InstanceName, pid, (int)grace.TotalSeconds);
                NativeMethods.SignalGroup(pid, ProcessSignal.Kill);
            }
        }
        await _run;
    }

    /// <summary>Kills the process group at once, as a stop (not a crash): nothing is restarted or reported as failed.</summary>
    public void Kill()
    {
        if (RequestStop() is { } process)
        {
            NativeMethods.SignalGroup(process.Id, ProcessSignal.Kill);
        }
    }

    /// <summary>Marks the supervisor as stopping, so the exit that follows is neither restarted nor reported as a crash.</summary>
    private Process? RequestStop()
    {
        Process? process;
        lock (_gate)
        {
            _stopRequested = true;
            process = _process;
        }
        _stopping.Cancel();
        return process;
    }

    /// <summary>The pid of the running process, if any (tests kill it to see it come back).</summary>
    public int? ProcessId
    {
        get
        {
            lock (_gate)
            {
                return _process?.Id;
            }
        }
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        var backoff = s_initialBackoff;
        var restarts = 0;
        while (!token.IsCancellationRequested)
        {
            var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stdoutClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stderrClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Process process;
            _notifications.Update(InstanceName, s => s with { State = ResourceState.Starting, Pid = null, Message = null });
            try
            {
                process = CreateProcess(_resource.CreateLaunch(_context, _replica), _resource.BuildEnvironment(_context, _replica));
                process.Exited += (_, _) => exited.TrySetResult();
                process.OutputDataReceived += (_, e) => OnOutput(e.Data, isError: false, stdoutClosed);
                process.ErrorDataReceived += (_, e) => OnOutput(e.Data, isError: true, stderrClosed);
                lock (_gate)
                {
                    if (_stopRequested)
                    {
                        break;
                    }
                    process.Start();
                    _process = process;
                }
                process.StandardInput.Close();
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLaunchFailed(ex, InstanceName);
                _notifications.Update(InstanceName, s => s with { State = ResourceState.Failed, Message = ex.Message });
                if (!await DelayAsync(backoff, token))
                {
                    break;
                }
                backoff = Next(backoff);
                continue;
            }

            var pid = process.Id;
            var startedAt = DateTimeOffset.UtcNow;
            _pidFiles.Write(InstanceName, pid);
            _notifications.Update(InstanceName, s => s with { State = ResourceState.Running, Pid = pid, StartedAt = startedAt, Restarts = restarts, Message = null });

            using (var healthStop = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                var health = MonitorHealthAsync(pid, healthStop.Token);
                await exited.Task;
                await healthStop.CancelAsync();
                await health;
            }
            var exitCode = process.ExitCode;
            // What the process forked (PostgreSQL backends, a Redis rewrite child) goes with it.
            NativeMethods.SignalGroup(pid, ProcessSignal.Kill);
            await Task.WhenAny(Task.WhenAll(stdoutClosed.Task, stderrClosed.Task), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
            lock (_gate)
            {
                _process = null;
            }
            process.Dispose();
            _pidFiles.Delete(InstanceName);

            if (token.IsCancellationRequested)
            {
                LogStopped(InstanceName, exitCode);
                _notifications.Update(InstanceName, s => s with { State = ResourceState.Stopped, Pid = null, LastExitCode = exitCode });
                return;
            }

            restarts++;
            if (DateTimeOffset.UtcNow - startedAt > s_stableRun)
            {
                backoff = s_initialBackoff;
            }
            var tail = string.Join(Environment.NewLine, Log.Tail(CrashReportLines).Select(l => "    " + l.Text));
            LogCrashed(InstanceName, exitCode, restarts, backoff.TotalSeconds, tail);
            _notifications.Update(InstanceName, s => s with
            {
                State = ResourceState.Restarting,
                Pid = null,
                LastExitCode = exitCode,
                Restarts = restarts,
                Message = $"exited with code {exitCode}; restarting in {backoff.TotalSeconds:0.#}s",
            });
            if (!await DelayAsync(backoff, token))
            {
                break;
            }
            backoff = Next(backoff);
        }
        _notifications.Update(InstanceName, s => s with { State = ResourceState.Stopped, Pid = null });
    }

    private async Task MonitorHealthAsync(int pid, CancellationToken cancellationToken)
    {
        var probe = _resource.CreateHealthProbe(_context, _replica);
        if (probe is null)
        {
            SetHealth(pid, healthy: true);
            return;
        }
        bool? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool healthy;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(s_probeTimeout);
                healthy = await probe.CheckAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                healthy = false; // Connection refused while starting is the normal case; the state says enough.
            }
            if (healthy != last)
            {
                SetHealth(pid, healthy);
                last = healthy;
            }
            if (!await DelayAsync(healthy ? s_probeIntervalHealthy : s_probeIntervalStarting, cancellationToken))
            {
                return;
            }
        }
    }

    private void SetHealth(int pid, bool healthy) =>
        _notifications.Update(InstanceName, s =>
        {
            if (s.Pid != pid || s.State is not (ResourceState.Running or ResourceState.Healthy or ResourceState.Unhealthy))
            {
                return s;
            }
            if (healthy && s.State != ResourceState.Healthy)
            {
                LogHealthy(InstanceName);
                return s with { State = ResourceState.Healthy };
            }
            if (!healthy && s.State == ResourceState.Healthy)
            {
                LogUnhealthy(InstanceName);
                return s with { State = ResourceState.Unhealthy };
            }
            return s;
        });

    private void OnOutput(string? line, bool isError, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }
        Log.Write(line, isError);
    }

    private Process CreateProcess(ProcessLaunch launch, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = launch.WorkingDirectory,
        };
        var arguments = new List<string>();
        // setsid makes the process lead a new session and process group without forking (same pid).
        var setsid = _context.Executables.Find("setsid");
        if (setsid is not null)
        {
            arguments.Add(launch.FileName);
            start.FileName = setsid;
        }
        else
        {
            start.FileName = launch.FileName;
        }
        if (launch.RunAsUser is { } user)
        {
            var setpriv = _context.Executables.Find("setpriv") ?? throw new InvalidOperationException($"setpriv is needed to run {InstanceName} as {user}.");
            if (setsid is not null)
            {
                arguments.RemoveAt(arguments.Count - 1);
                arguments.Add(setpriv);
            }
            else
            {
                start.FileName = setpriv;
            }
            arguments.AddRange(SwitchUserArguments(user));
            arguments.Add(launch.FileName);
        }
        arguments.AddRange(launch.Arguments);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        return new Process { StartInfo = start, EnableRaisingEvents = true };
    }

    internal static IEnumerable<string> SwitchUserArguments(string user) =>
        [$"--reuid={user}", $"--regid={user}", "--init-groups", "--"];

    private TimeSpan Next(TimeSpan backoff) =>
        TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(_context.Options.RestartBackoffMaxSeconds).Ticks));

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Instance} could not be started")]
    private partial void LogLaunchFailed(Exception exception, string instance);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Instance} exited unexpectedly with code {ExitCode}; restart #{Restarts} in {DelaySeconds}s. Last output:\n{Tail}")]
    private partial void LogCrashed(string instance, int exitCode, int restarts, double delaySeconds, string tail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Instance} is healthy")]
    private partial void LogHealthy(string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Instance} is unhealthy: its health check fails")]
    private partial void LogUnhealthy(string instance);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Instance} stopped (exit code {ExitCode})")]
    private partial void LogStopped(string instance, int exitCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Instance} (pid {Pid}) did not stop within {GraceSeconds}s; killing its process group")]
    private partial void LogKilling(string instance, int pid, int graceSeconds);
}
