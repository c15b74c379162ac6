namespace Hyperion.Orchestrator.Rollouts;

/// <summary>Progressive delivery: the rollout controller, promote/rollback/pause/resume, and rollout and shadow status.</summary>
internal static class RolloutsModule
{
    public static IHostApplicationBuilder AddRollouts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RolloutOptions, RolloutOptionsValidator>(builder.Configuration, RolloutOptions.SectionName);
        builder.Services.AddSingleton<ArmStatisticsReader>();
        builder.Services.AddSingleton<QualityGateReader>();
        builder.Services.AddSingleton<RolloutMetrics>();
        builder.Services.AddSingleton<RolloutRecorder>();
        builder.Services.AddSingleton<RolloutCommands>();
        builder.Services.AddSingleton<RolloutStatusReader>();
        builder.Services.AddSingleton<DeploymentStatus>();
        builder.Services.AddSingleton<RolloutController>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RolloutController>());
        return builder;
    }

    /// <summary>/api/v1/deployments/{m}/promote, rollback, pause, resume.</summary>
    public static RouteGroupBuilder MapRolloutsApi(this RouteGroupBuilder api) => api.MapRolloutEndpoints();
}
