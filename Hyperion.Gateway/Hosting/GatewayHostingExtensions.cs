using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Forwarding;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Pipelines;
using Hyperion.Gateway.RateLimiting;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Hyperion.Gateway.Usage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Hyperion.Gateway.Statistics;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace Hyperion.Gateway.Hosting;

/// <summary>Composes the gateway: options, Kestrel and Redis as it needs them, the control-plane client, caches, YARP and the proxy pipeline's stages.</summary>
internal static class GatewayHostingExtensions
{
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(builder.Configuration, GatewayOptions.SectionName);
        GatewayListeners.Configure(builder);
        GatewayRedis.Configure(services);

        services.AddSingleton<GatewayMetrics>();
        // Callers bound each call and fall back to what they knew (cached keys, the last routing table): the default
        // handler's retries and 30 s budget would only hold requests up while the orchestrator is down.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt one client out.
        services.AddHttpClient<ControlPlaneClient>(ControlPlaneClient.HttpClientName, http => http.BaseAddress = new Uri("http://orchestrator"))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        JwtAuthentication.Add(services);
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<ValidatedTokenCache>();
        services.AddHostedService<KeyRevocationListener>();

        services.AddSingleton<RoutingTableCache>();
        services.AddHostedService(provider => provider.GetRequiredService<RoutingTableCache>());
        services.AddSingleton<RedisTokenBuckets>();
        services.AddSingleton<TokenLeases>();
        services.AddSingleton<ArmStatistics>();
        services.AddSingleton<ArmStatisticsFlusher>();
        services.AddHostedService(provider => provider.GetRequiredService<ArmStatisticsFlusher>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<UsageMeter>();
        services.AddSingleton<QuotaCheck>();
        services.AddSingleton<UsageFlusher>();
        services.AddHostedService(provider => provider.GetRequiredService<UsageFlusher>());

        services.AddSingleton<CaptureWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<CaptureWriter>());
        services.AddSingleton<ShadowDispatcher>();
        services.AddHostedService(provider => provider.GetRequiredService<ShadowDispatcher>());
        services.AddSingleton<PipelineStepClient>();
        services.AddSingleton<PipelineRunner>();

        services.AddSingleton<IProxyConfigProvider, GatewayProxyConfigProvider>();
        services.AddSingleton<CircuitBreakerPolicy>();
        services.AddSingleton<IPassiveHealthCheckPolicy>(provider => provider.GetRequiredService<CircuitBreakerPolicy>());
        services.AddSingleton<IForwarderHttpClientFactory, GatewayForwarderHttpClientFactory>();
        services.AddReverseProxy();
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        SkipFrameworkAuthMiddleware(app);
        app.UseMiddleware<RequestIdMiddleware>();
        app.MapReverseProxy(pipeline =>
        {
            foreach (var stage in GatewayPipeline.Stages)
            {
                pipeline.UseMiddleware(stage.Middleware);
            }
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }

    /// <summary>
    /// WebApplication adds ASP.NET Core's authentication and authorization middleware by itself when their services
    /// exist (JwtBearer registers one, YARP the other) and the app did not add them. The gateway authenticates in its
    /// own stage, only where a route needs it, so the two did nothing but cost every request a DI scope, an Items
    /// dictionary and two async frames: about a twelfth of its CPU time. The markers below are what an explicit
    /// <c>UseAuthentication()</c>/<c>UseAuthorization()</c> leaves for WebApplication to find.
    /// </summary>
    private static void SkipFrameworkAuthMiddleware(IApplicationBuilder app)
    {
        app.Properties["__AuthenticationMiddlewareSet"] = true;
        app.Properties["__AuthorizationMiddlewareSet"] = true;
    }
}
