using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Hyperion.AppHost.Hosting;

/// <summary>
/// The built graph: starts resources in dependency order once what they wait for is healthy,
/// supervises them, serves the dashboard, and stops everything in reverse order.
/// </summary>
public sealed partial class DistributedApplication : IAsyncDisposable
{
    private readonly IReadOnlyList<IResource> _resources;
    private readonly IReadOnlyList<(string Label, string Value)> _notes;
    private readonly IReadOnlyList<HealthyHook> _healthyHooks;
    private readonly ILoggerFactory _loggerFactory;
    private readonly bool _ownsLoggerFactory;
    private readonly ILogger _logger;
    private readonly PidFiles _pidFiles;
    private readonly ConsoleSink? _console;
    private readonly Dictionary<string, List<ProcessSupervisor>> _supervisors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResourceLog> _logs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly List<Task> _startTasks = [];
    private readonly SemaphoreSlim _stateChange = new(1, 1);
    private DashboardServer? _dashboard;
    private bool _started;
    private bool _stopped;

    internal DistributedApplication(IReadOnlyList<IResource> resources, HostingContext context, IReadOnlyList<(string, string)> notes, IReadOnlyList<HealthyHook> healthyHooks, ILoggerFactory loggerFactory, bool ownsLoggerFactory)
    {
        _resources = resources;
        _notes = notes;
        _healthyHooks = healthyHooks;
        Context = context;
        _loggerFactory = loggerFactory;
        _ownsLoggerFactory = ownsLoggerFactory;
        _logger = loggerFactory.CreateLogger("Hyperion.AppHost");
        _pidFiles = new PidFiles(Path.Combine(context.StateDirectory, "pids"), _logger);
        _console = context.Options.EchoResourceOutput ? new ConsoleSink() : null;
        foreach (var resource in resources)
        {
            foreach (var snapshot in InitialSnapshots(resource))
            {
                ResourceNotifications.Publish(snapshot);
            }
        }
    }

    public static IDistributedApplicationBuilder CreateBuilder(string[] args) => CreateBuilder(new DistributedApplicationOptions { Args = args });

    public static IDistributedApplicationBuilder CreateBuilder(DistributedApplicationOptions options) => new DistributedApplicationBuilder(options);

    public HostingContext Context { get; }

    public ResourceNotificationService ResourceNotifications { get; } = new();

    public IReadOnlyList<IResource> Resources => _resources;

    /// <summary>Where the dashboard listens, once started; null when it is turned off.</summary>
    public Uri? DashboardUrl => _dashboard?.Url;

    public IResource GetResource(string name) =>
        _resources.FirstOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException($"No resource named '{name}'. Declared: {string.Join(", ", _resources.Select(r => r.Name))}.");

    public string GetConnectionString(string resourceName) =>
        GetResource(resourceName) is IResourceWithConnectionString resource
            ? resource.GetConnectionString()
            : throw new InvalidOperationException($"Resource '{resourceName}' has no connection string.");

    public Uri GetEndpoint(string resourceName, string endpointName = "http", int replica = 0) =>
        GetResource(resourceName) is ProcessResource resource
            ? new Uri(resource.GetEndpoint(endpointName).GetUrl(replica))
            : throw new InvalidOperationException($"Resource '{resourceName}' has no endpoints.");

    /// <summary>The captured output of one instance ("gateway", "inference-1").</summary>
    public ResourceLog GetLog(string instanceName) =>
        _logs.TryGetValue(instanceName, out var log) ? log : throw new KeyNotFoundException($"No log for '{instanceName}' (it has not started yet, or is not a process).");

    /// <summary>The pid of a running instance, or null while it is not running.</summary>
    public int? GetProcessId(string instanceName) =>
        _supervisors.Values.SelectMany(s => s).FirstOrDefault(s => s.InstanceName == instanceName)?.ProcessId;

    /// <summary>
    /// Checks prerequisites (all missing ones reported at once), cleans up after a crashed AppHost, then
    /// starts every resource as soon as what it waits for is healthy. Returns without waiting for health.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_started)
        {
            throw new InvalidOperationException("The application was already started.");
        }
        _started = true;
        CheckPrerequisites();
        Directory.CreateDirectory(Context.StateDirectory);
        await _pidFiles.CleanUpStaleAsync(cancellationToken);
        if (Context.Options.DashboardUrl is { Length: > 0 } dashboardUrl)
        {
            _dashboard = new DashboardServer(this, dashboardUrl);
            await _dashboard.StartAsync(cancellationToken);
        }
        foreach (var resource in _resources)
        {
            _startTasks.Add(Task.Run(() => StartResourceAsync(resource, _lifetime.Token), CancellationToken.None));
        }
    }

    /// <summary>Completes when every resource is healthy.</summary>
    public Task WaitForAllHealthyAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(_resources.Where(r => r is ProcessResource or IProvisionedResource)
            .Select(r => ResourceNotifications.WaitForResourceHealthyAsync(r.Name, cancellationToken)));

    /// <summary>Stops one resource's processes (no restart) until <see cref="StartResourceAsync(string, CancellationToken)"/>.</summary>
    public async Task StopResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        await _stateChange.WaitAsync(cancellationToken);
        try
        {
            if (_supervisors.Remove(name, out var supervisors))
            {
                var grace = TimeSpan.FromSeconds(Context.Options.ShutdownTimeoutSeconds);
                await Task.WhenAll(supervisors.Select(s => s.StopAsync(grace)));
            }
        }
        finally
        {
            _stateChange.Release();
        }
    }

    /// <summary>Starts a resource stopped by <see cref="StopResourceAsync"/>; returns without waiting for health.</summary>
    public async Task StartResourceAsync(string name, CancellationToken cancellationToken = default)
    {
        if (GetResource(name) is not ProcessResource resource)
        {
            throw new InvalidOperationException($"'{name}' is not a process resource.");
        }
        await _stateChange.WaitAsync(cancellationToken);
        try
        {
            if (!_supervisors.ContainsKey(name))
            {
                StartReplicas(resource);
            }
        }
        finally
        {
            _stateChange.Release();
        }
    }

    /// <summary>Stops everything in reverse dependency order; safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        await _lifetime.CancelAsync();
        try
        {
            await Task.WhenAll(_startTasks);
        }
        catch (OperationCanceledException)
        {
        }
        var grace = TimeSpan.FromSeconds(Context.Options.ShutdownTimeoutSeconds);
        await _stateChange.WaitAsync();
        try
        {
            foreach (var resource in _resources.Reverse())
            {
                if (_supervisors.Remove(resource.Name, out var supervisors))
                {
                    await Task.WhenAll(supervisors.Select(s => s.StopAsync(grace)));
                }
                else if (resource is IProvisionedResource)
                {
                    ResourceNotifications.Update(resource.Name, s => s with { State = ResourceState.Stopped });
                }
            }
        }
        finally
        {
            _stateChange.Release();
        }
        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync();
        }
        foreach (var log in _logs.Values)
        {
            log.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsLoggerFactory)
        {
            _loggerFactory.Dispose();
        }
    }

    /// <summary>
    /// Runs until Ctrl+C or SIGTERM: starts, prints the resource table once everything is healthy,
    /// then stops in reverse order. Returns the process exit code.
    /// </summary>
    public int Run() => RunAsync().GetAwaiter().GetResult();

    // A terminal's Ctrl+C reaches both `dotnet run` and this process, and `dotnet run` forwards it too:
    // signals this close together are one request to stop, not a second, impatient one.
    private static readonly TimeSpan s_sameStopRequest = TimeSpan.FromSeconds(1);

    public async Task<int> RunAsync()
    {
        var shutdown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var signals = 0;
        var firstSignalAt = 0L;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                firstSignalAt = Stopwatch.GetTimestamp();
                LogShuttingDown(context.Signal.ToString());
                shutdown.TrySetResult();
            }
            else if (Stopwatch.GetElapsedTime(firstSignalAt) > s_sameStopRequest)
            {
                // A second Ctrl+C: the user does not want to wait for a graceful stop.
                LogForcedShutdown();
                foreach (var supervisor in _supervisors.Values.SelectMany(s => s))
                {
                    supervisor.Kill();
                }
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);

        try
        {
            await StartAsync(_lifetime.Token);
        }
        catch (Exception ex) when (ex is MissingPrerequisiteException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            await StopAsync();
            return 1;
        }
        var healthy = WaitForAllHealthyAsync(_lifetime.Token);
        var hooks = Task.CompletedTask;
        if (await Task.WhenAny(healthy, shutdown.Task) == healthy && healthy.IsCompletedSuccessfully)
        {
            ResourceTable.Print(Console.Out, ResourceNotifications.GetSnapshots(), DashboardUrl, _notes, Path.Combine(Context.StateDirectory, "logs"));
            // Not awaited here: Ctrl+C must stop the graph even while a hook waits on it.
            hooks = RunHealthyHooksAsync(_lifetime.Token);
        }
        await shutdown.Task;
        await StopAsync();
        await hooks;
        LogStopped();
        return 0;
    }

    /// <summary>Runs the <see cref="IDistributedApplicationBuilder.OnHealthy"/> hooks in order; a failing hook is logged and skipped.</summary>
    public async Task RunHealthyHooksAsync(CancellationToken cancellationToken = default)
    {
        foreach (var hook in _healthyHooks)
        {
            try
            {
                await hook.Callback(this, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogHookFailed(ex, hook.Description, ex.Message);
            }
        }
    }

    private void CheckPrerequisites()
    {
        var missing = _resources.OfType<ProcessResource>().SelectMany(r => r.CheckPrerequisites(Context)).ToList();
        if (missing.Count > 0)
        {
            throw new MissingPrerequisiteException(missing);
        }
    }

    private async Task StartResourceAsync(IResource resource, CancellationToken cancellationToken)
    {
        var dependencies = GraphOrder.StartDependencies(resource).ToList();
        if (dependencies.Count > 0)
        {
            SetState(resource, ResourceState.Waiting, $"waiting for {string.Join(", ", dependencies.Select(d => d.Name))}");
            await Task.WhenAll(dependencies.Select(d => ResourceNotifications.WaitForResourceHealthyAsync(d.Name, cancellationToken)));
        }
        switch (resource)
        {
            case ProcessResource process:
                SetState(resource, ResourceState.Starting, null);
                try
                {
                    await process.PrepareAsync(Context, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPrepareFailed(ex, resource.Name);
                    SetState(resource, ResourceState.Failed, ex.Message);
                    return;
                }
                await _stateChange.WaitAsync(cancellationToken);
                try
                {
                    if (!_stopped)
                    {
                        StartReplicas(process);
                    }
                }
                finally
                {
                    _stateChange.Release();
                }
                break;
            case IProvisionedResource provisioned:
                await ProvisionAsync(provisioned, cancellationToken);
                break;
        }
    }

    private async Task ProvisionAsync(IProvisionedResource resource, CancellationToken cancellationToken)
    {
        SetState(resource, ResourceState.Starting, null);
        while (true)
        {
            try
            {
                await resource.ProvisionAsync(Context, cancellationToken);
                SetState(resource, ResourceState.Healthy, null);
                LogProvisioned(resource.Name);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                SetState(resource, ResourceState.Failed, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    private void StartReplicas(ProcessResource resource)
    {
        var supervisors = new List<ProcessSupervisor>(resource.Replicas);
        var logsDirectory = Path.Combine(Context.StateDirectory, "logs");
        for (var replica = 0; replica < resource.Replicas; replica++)
        {
            var instance = resource.GetInstanceName(replica);
            if (!_logs.TryGetValue(instance, out var log))
            {
                log = new ResourceLog(instance, logsDirectory, Context.Options.LogFileMaxMegabytes * 1024L * 1024L, Context.Options.LogFilesKept, _console);
                _logs[instance] = log;
            }
            var supervisor = new ProcessSupervisor(resource, replica, Context, ResourceNotifications, log, _pidFiles, _logger);
            supervisors.Add(supervisor);
            supervisor.Start();
        }
        _supervisors[resource.Name] = supervisors;
    }

    private void SetState(IResource resource, ResourceState state, string? message)
    {
        foreach (var snapshot in ResourceNotifications.GetSnapshots(resource.Name))
        {
            ResourceNotifications.Update(snapshot.Name, s => s with { State = state, Message = message });
        }
    }

    private static IEnumerable<ResourceSnapshot> InitialSnapshots(IResource resource)
    {
        switch (resource)
        {
            case ProcessResource process:
                for (var replica = 0; replica < process.Replicas; replica++)
                {
                    var urls = process.Endpoints.Select(e => e.Name == "http" || e.Scheme == "tcp" ? e.GetUrl(replica) : $"{e.Name}: {e.GetUrl(replica)}").ToArray();
                    yield return new ResourceSnapshot(process.GetInstanceName(replica), process.Name, TypeName(process), ResourceState.Pending, urls);
                }
                break;
            case PostgresDatabaseResource database:
                yield return new ResourceSnapshot(database.Name, database.Name, "PostgresDatabase", ResourceState.Pending, [$"database {database.DatabaseName} on {database.Server.Name}"]);
                break;
        }
    }

    private static string TypeName(ProcessResource resource) => resource switch
    {
        ProjectResource => "Project",
        RedisResource => "Redis",
        PostgresServerResource => "Postgres",
        _ => "Executable",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "{Hook} failed: {Reason}")]
    private partial void LogHookFailed(Exception exception, string hook, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Signal} received: stopping every resource in reverse order (press Ctrl+C again to kill them now)")]
    private partial void LogShuttingDown(string signal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Second stop signal: killing every resource now")]
    private partial void LogForcedShutdown();

    [LoggerMessage(Level = LogLevel.Information, Message = "All resources stopped")]
    private partial void LogStopped();

    [LoggerMessage(Level = LogLevel.Error, Message = "{Resource} could not be prepared")]
    private partial void LogPrepareFailed(Exception exception, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Resource} is ready")]
    private partial void LogProvisioned(string resource);
}
