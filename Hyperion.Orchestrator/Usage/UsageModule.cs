namespace Hyperion.Orchestrator.Usage;

/// <summary>Usage metering (moved from the gateways' Redis counters) and quotas (issue 18 item 6).</summary>
internal static class UsageModule
{
    public static IHostApplicationBuilder AddUsage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<UsageOptions, UsageOptionsValidator>(builder.Configuration, UsageOptions.SectionName);
        builder.Services.AddSingleton<QuotaStore>();
        builder.Services.AddSingleton<UsageFlusher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<UsageFlusher>());
        return builder;
    }

    /// <summary>/api/v1/usage, /api/v1/keys/{id}/quota, /api/v1/teams/{t}/quota</summary>
    public static RouteGroupBuilder MapUsageApi(this RouteGroupBuilder api) => api.MapUsageEndpoints().MapQuotaEndpoints();
}
