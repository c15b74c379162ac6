using Hyperion.Inference.Metrics;
using Hyperion.Inference.Repository;
using Hyperion.Inference.Serving;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference;

public static class InferenceEngineExtensions
{
    /// <summary>
    /// The inference engine: model repository (section <c>Inference</c>, see <see cref="RepositoryOptions"/>),
    /// ONNX Runtime backend, dynamic batcher, dispatcher, metrics, a start-up loader and a readiness check.
    /// Front ends use <see cref="IModelCatalog"/>, <see cref="IInferenceDispatcher"/> and <see cref="InferenceMetrics"/>.
    /// </summary>
    public static IServiceCollection AddInferenceEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<RepositoryOptions, RepositoryOptionsValidator>(configuration, RepositoryOptions.SectionName);
        services.AddSingleton<IPostConfigureOptions<RepositoryOptions>, RepositoryOptionsSetup>();

        services.AddMetrics();
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<ModelRepository>();
        services.AddSingleton<IModelCatalog>(provider => provider.GetRequiredService<ModelRepository>());
        services.AddSingleton<IInferenceDispatcher, InferenceDispatcher>();
        services.AddHostedService<RepositoryLoader>();
        services.AddHealthChecks().AddCheck<InferenceEngineHealthCheck>("inference-engine");
        return services;
    }
}
