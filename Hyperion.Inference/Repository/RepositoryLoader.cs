using Microsoft.Extensions.Hosting;

namespace Hyperion.Inference.Repository;

/// <summary>Loads the repository in the background at start-up, so the server answers liveness (and "not ready") meanwhile.</summary>
internal sealed class RepositoryLoader(ModelRepository repository) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        await repository.LoadAllAsync(stoppingToken);
    }
}
