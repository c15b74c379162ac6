namespace Hyperion.AppHost.Hosting;

/// <summary>Answers "is this replica ready to be used?"; a probe that throws counts as unhealthy.</summary>
internal interface IHealthProbe
{
    Task<bool> CheckAsync(CancellationToken cancellationToken);
}

internal sealed class DelegateHealthProbe(Func<CancellationToken, Task<bool>> check) : IHealthProbe
{
    public Task<bool> CheckAsync(CancellationToken cancellationToken) => check(cancellationToken);
}
