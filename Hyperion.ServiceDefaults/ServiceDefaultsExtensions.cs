using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Hyperion service shares: telemetry, health, service discovery and resilient HttpClients.
/// Shaped like Aspire's ServiceDefaults template (OpenTelemetry, health, service discovery, resilience), plus what is
/// ours: Prometheus /metrics, head sampling (<see cref="TraceSampling"/>), and spans only when they are exported.
/// The gRPC listener and inline I/O are in their own files.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";
    public const string LiveTag = "live";

    /// <summary>How long a readiness check of a dependency (Redis, PostgreSQL) may take before it counts as failed.</summary>
    public static readonly TimeSpan DependencyCheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Meters whose instruments every service exports (each service adds its own meter name here).</summary>
    public const string MeterPrefix = "Hyperion.";

    private static readonly string[] AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
    ];

    private static readonly string[] HttpClientMeters = ["System.Net.Http", "System.Net.NameResolution"];

    /// <summary>The activity source of ASP.NET Core's request spans (HostingApplicationDiagnostics).</summary>
    public const string AspNetCoreActivitySource = "Microsoft.AspNetCore";

    /// <summary>The activity source of HttpClient's request spans (.NET 9 and later).</summary>
    public const string HttpClientActivitySource = "System.Net.Http";

    /// <summary>
    /// Off, ASP.NET Core 10 puts the HTTP semantic conventions' tags (http.request.method, url.path, http.route,
    /// http.response.status_code, ...) on its request activity itself; on by default until ASP.NET Core 11.
    /// </summary>
    private const string AspNetCoreActivityTagsSwitch = "Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData";

    /// <summary>ASP.NET Core's per-request log category (request starting/finished, and each request's log scope).</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // While this category is enabled at any level, ASP.NET Core gives every request an Activity and a log scope,
        // whether or not anything records them: on the gateway that was a tenth of its work per request (every await
        // after it restores the flowed context). Its logs are per-request Information lines; an operator who wants
        // them sets the level, and traces (OTEL_EXPORTER_OTLP_ENDPOINT) create the Activity regardless.
        if (builder.Configuration[$"Logging:LogLevel:{HostingDiagnosticsCategory}"] is null)
        {
            builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        }
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                // ASP.NET Core records its http.server.* and kestrel.* metrics itself; subscribing to its meters (what
                // AddAspNetCoreInstrumentation does besides) leaves out the middleware that instrumentation puts in
                // front of every request only to copy a 5xx status into error.type, which the status tag already says.
                .AddMeter(AspNetCoreMeters)
                .AddMeter(HttpClientMeters)
                .AddRuntimeInstrumentation()
                .AddMeter(MeterPrefix + "*")
                .AddPrometheusExporter());

        // Spans are recorded only when something receives them: recording costs every request a few microseconds,
        // which on the gateway's path is a tenth of its work. Without them a caller's traceparent still reaches the
        // replica unchanged (the gateway forwards it as it forwards other headers). The client integrations follow
        // the same rule (RedisClientDefaults, the orchestrator's AddNpgsqlDataSource).
        if (builder.ExportsTraces())
        {
            // ASP.NET Core 10 and HttpClient write the semantic conventions' tags on their own activities; listening to
            // their sources directly, instead of through the OpenTelemetry instrumentation packages, spares every request
            // the DiagnosticListener events those packages subscribe to (payload objects, a second header extraction
            // and injection), which on the gateway cost as much as the spans themselves.
            AppContext.SetSwitch(AspNetCoreActivityTagsSwitch, false);
            otel.WithTracing(tracing => tracing
                    .AddSource(builder.Environment.ApplicationName)
                    .AddSource(MeterPrefix + "*")
                    .AddSource(AspNetCoreActivitySource)
                    .AddSource(HttpClientActivitySource))
                .UseOtlpExporter();
        }

        // Head sampling (TraceSampling: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, by default a caller's sampled
        // traceparent and one in ten of the traces a service starts). A service has one TracerProvider, which the
        // client integrations' WithTracing (Redis, Npgsql) configure too, so this sampler decides their spans as well.
        // Read here so that a bad setting stops start-up.
        if (TraceSampling.FromConfiguration(builder.Configuration) is { } sampler)
        {
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.SetSampler(sampler));
        }

        return builder;
    }

    /// <summary>
    /// Whether this service exports spans (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), and so records any: the
    /// client integrations' tracing is turned off without it.
    /// </summary>
    public static bool ExportsTraces(this IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps /health (ready: every check), /alive (live: checks tagged "live") and /metrics (Prometheus).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthResponseWriter.WriteAsync })
            .Add(NotTraced);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
        }).Add(NotTraced);
        app.MapPrometheusScrapingEndpoint(MetricsEndpointPath).Add(NotTraced);
        return app;
    }

    /// <summary>
    /// Probes and scrapes would drown real requests in the trace view: their request span (and so, through the
    /// parent-based sampler, the Redis and PostgreSQL spans of a readiness check) is not recorded. Done on these
    /// endpoints alone, so the other requests pay nothing for it.
    /// </summary>
    private static void NotTraced(EndpointBuilder endpoint)
    {
        var next = endpoint.RequestDelegate ?? throw new InvalidOperationException($"{endpoint.DisplayName} has no request delegate to wrap.");
        endpoint.RequestDelegate = context =>
        {
            if (Activity.Current is { } activity)
            {
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }
            return next(context);
        };
    }
}
