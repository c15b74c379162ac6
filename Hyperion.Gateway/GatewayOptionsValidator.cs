using Microsoft.Extensions.Options;

namespace Hyperion.Gateway;

/// <summary>Every setting of the <c>Gateway</c> section: ranges, URLs and the rules that span fields (a JWT issuer needs an audience, ...).</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private const int MaxCachedBodyBytes = 64 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        const string gateway = GatewayOptions.SectionName;
        var failures = new OptionsFailures();
        failures.AtLeast(gateway, options.MaxRequestBodyBytes, 1024);
        failures.AtLeast(gateway, options.MaxControlPlaneBodyBytes, 1024);
        if (!string.IsNullOrWhiteSpace(options.GrpcUrl)
            && !(Uri.TryCreate(options.GrpcUrl, UriKind.Absolute, out var grpc) && grpc.Scheme == Uri.UriSchemeHttp))
        {
            failures.Add($"{gateway}:GrpcUrl '{options.GrpcUrl}' must be an absolute http:// URL (gRPC is served as cleartext HTTP/2), e.g. http://127.0.0.1:5081");
        }

        const string auth = gateway + ":Auth";
        failures.Range(auth, options.Auth.KeyCacheSeconds, 1, 3600);
        failures.Range(auth, options.Auth.NegativeKeyCacheSeconds, 0, 600);
        failures.Range(auth, options.Auth.KeyStaleSeconds, 0, 86400);
        failures.Range(auth, options.Auth.KeyCacheCapacity, 16, 10_000_000);
        failures.Range(auth, options.Auth.LookupTimeoutMilliseconds, 50, 60_000);
        options.Auth.Jwt.Validate(auth + ":Jwt", failures);

        const string rateLimiting = gateway + ":RateLimiting";
        failures.Range(rateLimiting, options.RateLimiting.RedisTimeoutMilliseconds, 10, 10_000);
        failures.Range(rateLimiting, options.RateLimiting.LeaseMilliseconds, 10, 60_000);
        Plan(rateLimiting + ":Default", options.RateLimiting.Default, failures);
        if (options.RateLimiting.PerModel is { } perModel)
        {
            Plan(rateLimiting + ":PerModel", perModel, failures);
        }

        const string routing = gateway + ":Routing";
        failures.Range(routing, options.Routing.RefreshSeconds, 1, 3600);
        failures.Range(routing, options.Routing.FetchTimeoutMilliseconds, 50, 60_000);

        const string caching = gateway + ":Caching";
        failures.Range(caching, options.Caching.MaxBodyBytes, 0, MaxCachedBodyBytes);
        failures.Range(caching, options.Caching.MaxResponseBytes, 0, MaxCachedBodyBytes);
        failures.Range(caching, options.Caching.RedisTimeoutMilliseconds, 10, 10_000);

        const string shadowing = gateway + ":Shadowing";
        failures.Range(shadowing, options.Shadowing.QueueCapacity, 1, 100_000);
        failures.Range(shadowing, options.Shadowing.Concurrency, 1, 256);
        failures.Range(shadowing, options.Shadowing.MaxBodyBytes, 1024, MaxCachedBodyBytes);
        failures.Range(shadowing, options.Shadowing.TimeoutMilliseconds, 50, 600_000);

        const string resilience = gateway + ":Resilience";
        failures.Range(resilience, options.Resilience.UpstreamTimeoutSeconds, 1, 3600);
        failures.Range(resilience, options.Resilience.ConnectRetries, 0, 16);
        failures.Range(resilience, options.Resilience.ActiveHealthIntervalSeconds, 1, 3600);
        failures.Range(resilience, options.Resilience.ActiveHealthTimeoutSeconds, 1, 600);
        failures.Range(resilience, options.Resilience.BreakerFailureThreshold, 1, 1000);
        failures.Range(resilience, options.Resilience.BreakerCooldownSeconds, 1, 3600);
        return failures.Result();
    }

    private static void Plan(string section, PlanOptions plan, OptionsFailures failures)
    {
        failures.Range(section, plan.RequestsPerSecond, 0.001, 1_000_000);
        failures.Range(section, plan.Burst, 1, 10_000_000);
    }
}
