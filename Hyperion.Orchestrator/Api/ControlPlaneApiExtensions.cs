using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Captures;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Jobs;
using Hyperion.Orchestrator.Keys;
using Hyperion.Orchestrator.Notifications;
using Hyperion.Orchestrator.Quality;
using Hyperion.Orchestrator.Pipelines;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Rollouts;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;
using Hyperion.Orchestrator.Usage;

namespace Hyperion.Orchestrator.Api;

/// <summary>
/// The control plane's HTTP surface: the public API under <c>/api/v1</c> (authenticated, problem+json errors,
/// snake_case JSON, an OpenAPI document at <c>/openapi/v1.json</c>) and the internal routes under
/// <c>/internal/v1</c> that gateways and inference replicas call (<see cref="ControlPlaneRoutes"/>).
/// </summary>
internal static class ControlPlaneApiExtensions
{
    public static IHostApplicationBuilder AddControlPlaneApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<OrchestratorOptions, OrchestratorOptionsValidator>(builder.Configuration, OrchestratorOptions.SectionName);

        builder.Services.ConfigureHttpJsonOptions(options => ControlPlaneJson.Configure(options.SerializerOptions));
        builder.Services.AddProblemAnswers();
        builder.Services.AddOpenApi();

        builder.Services.AddApiKeyOrJwt();
        builder.Services.AddAuthorization(ScopePolicies.Add);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, ModelScopeHandler>();

        builder.Services.AddSingleton<ApiKeyStore>();
        // After the migrations runner (hosted services start in registration order).
        builder.Services.AddHostedService<BootstrapAdminKey>();

        builder.AddRegistry();
        builder.AddApiKeys();
        builder.AddDeployments();
        builder.AddWebhooks();
        builder.AddRollouts();
        builder.AddQuality();
        builder.AddCaptures();
        builder.AddPipelines();
        builder.AddJobs();
        builder.AddTeams();
        builder.AddUsage();
        return builder;
    }

    public static WebApplication MapControlPlaneApi(this WebApplication app)
    {
        app.UseProblemAnswers();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi().AllowAnonymous();

        var api = app.MapGroup("/api/v1").RequireAuthorization();
        api.MapWhoAmI();
        api.MapRegistryApi();
        api.MapKeysApi();
        api.MapAuditApi();
        api.MapDeploymentsApi();
        api.MapWebhooksApi();
        api.MapRolloutsApi();
        api.MapQualityApi();
        api.MapCapturesApi();
        api.MapPipelinesApi();
        api.MapJobsApi();
        api.MapTeamsApi();
        api.MapUsageApi();

        var cluster = app.MapGroup("/internal/v1").AllowAnonymous().ExcludeFromDescription();
        cluster.MapRegistryInternal();
        cluster.MapKeysInternal();
        cluster.MapDeploymentsInternal();
        return app;
    }
}
