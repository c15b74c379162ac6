namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Batch jobs (issue #15): submitted and read through <c>/api/v1/jobs</c>, scored by workers in every orchestrator
/// replica that has them (<see cref="JobsOptions.Workers"/>), straight against the inference replicas.
/// </summary>
internal static class JobsModule
{
    public static IHostApplicationBuilder AddJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<JobsOptions, JobsOptionsValidator>(builder.Configuration, JobsOptions.SectionName);
        builder.Services.AddSingleton<JobNotifications>();
        builder.Services.AddSingleton<JobStore>();
        builder.Services.AddSingleton<JobTargets>();
        builder.Services.AddSingleton<JobInputSplitter>();
        builder.Services.AddSingleton<JobSubmission>();
        builder.Services.AddSingleton<JobMetrics>();
        builder.Services.AddSingleton<InferenceClient>();
        builder.Services.AddSingleton<JobsGatewayKey>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JobsGatewayKey>());
        builder.Services.AddSingleton<ChunkScorer>();
        builder.Services.AddHostedService<JobWorker>();
        return builder;
    }

    /// <summary>/api/v1/jobs...</summary>
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder api) => api.MapJobEndpoints();
}
