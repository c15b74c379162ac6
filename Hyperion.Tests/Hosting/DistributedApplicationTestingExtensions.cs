using System.Text;
using Hyperion.AppHost.Hosting;

namespace Hyperion.Tests.Hosting;

/// <summary>What tests ask of a running application: clients, waits that explain themselves when they time out.</summary>
public static class DistributedApplicationTestingExtensions
{
    /// <summary>A plain HttpClient (no retries, so tests see what users see) for one replica's endpoint.</summary>
    public static HttpClient CreateHttpClient(this DistributedApplication app, string resourceName, string endpointName = "http", int replica = 0) =>
        new() { BaseAddress = app.GetEndpoint(resourceName, endpointName, replica), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Waits until every instance of <paramref name="name"/> is healthy; on time-out the exception shows states and recent output.</summary>
    public static Task WaitForHealthyAsync(this DistributedApplication app, string name, TimeSpan timeout) =>
        app.WaitForAsync(name, instances => instances.All(i => i.State == ResourceState.Healthy), timeout, "healthy");

    public static async Task WaitForAsync(this DistributedApplication app, string name, Func<IReadOnlyList<ResourceSnapshot>, bool> predicate, TimeSpan timeout, string what)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await app.ResourceNotifications.WaitForResourceAsync(name, predicate, cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'{name}' was not {what} within {timeout.TotalSeconds:0}s.{Environment.NewLine}{app.Describe()}");
        }
    }

    public static async Task WaitForAllHealthyAsync(this DistributedApplication app, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await app.WaitForAllHealthyAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The graph was not healthy within {timeout.TotalSeconds:0}s.{Environment.NewLine}{app.Describe()}");
        }
    }

    /// <summary>Every instance's state, and the last output lines of those that are not healthy.</summary>
    public static string Describe(this DistributedApplication app, int lines = 25)
    {
        var text = new StringBuilder();
        var snapshots = app.ResourceNotifications.GetSnapshots();
        foreach (var s in snapshots)
        {
            text.AppendLine($"  {s.Name,-14} {s.State,-10} pid={s.Pid} restarts={s.Restarts} exit={s.LastExitCode} {s.Message}");
        }
        foreach (var s in snapshots.Where(s => s.State != ResourceState.Healthy))
        {
            try
            {
                var tail = app.GetLog(s.Name).Tail(lines);
                text.AppendLine($"--- last output of {s.Name} ---");
                foreach (var line in tail)
                {
                    text.AppendLine("  " + line.Text);
                }
            }
            catch (KeyNotFoundException)
            {
                // Never started: nothing to show.
            }
        }
        return text.ToString();
    }
}
