namespace Hyperion.AppHost.Hosting;

/// <summary>Work declared with <see cref="IDistributedApplicationBuilder.OnHealthy"/>.</summary>
public sealed record HealthyHook(string Description, Func<DistributedApplication, CancellationToken, Task> Callback);
