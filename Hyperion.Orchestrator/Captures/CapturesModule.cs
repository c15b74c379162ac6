namespace Hyperion.Orchestrator.Captures;

/// <summary>Captured live traffic (model monitoring, issue #16): ingestion from the gateways' Redis stream, retention, and the captures API.</summary>
internal static class CapturesModule
{
    public static IHostApplicationBuilder AddCaptures(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<CaptureOptions, CaptureOptionsValidator>(builder.Configuration, CaptureOptions.SectionName);
        builder.Services.AddSingleton<CaptureMetrics>();
        builder.Services.AddSingleton<CaptureStore>();
        builder.Services.AddHostedService<CaptureIngestor>();
        builder.Services.AddHostedService<CaptureRetentionSweeper>();
        return builder;
    }

    /// <summary>/api/v1/models/{m}/captures.</summary>
    public static RouteGroupBuilder MapCapturesApi(this RouteGroupBuilder api) => api.MapCaptureEndpoints();
}
