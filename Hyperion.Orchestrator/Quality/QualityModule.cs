namespace Hyperion.Orchestrator.Quality;

/// <summary>Model quality (issue #16): drift against the baseline profile, ground-truth feedback, quality metrics and their signals.</summary>
internal static class QualityModule
{
    public static IHostApplicationBuilder AddQuality(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<QualityOptions, QualityOptionsValidator>(builder.Configuration, QualityOptions.SectionName);
        builder.Services.AddSingleton<QualitySignals>();
        builder.Services.AddSingleton<DriftRunner>();
        builder.Services.AddSingleton<QualityWatch>();
        builder.Services.AddSingleton<DriftScheduler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<DriftScheduler>());
        return builder;
    }

    /// <summary>/api/v1/models/{m}/drift, /drift/history, /drift/run, /quality and /api/v1/feedback.</summary>
    public static RouteGroupBuilder MapQualityApi(this RouteGroupBuilder api) => api.MapQualityEndpoints().MapFeedbackEndpoints();
}
