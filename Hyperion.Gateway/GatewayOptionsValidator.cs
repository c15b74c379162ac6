using Microsoft.Extensions.Options;

namespace Hyperion.Gateway;

/// <summary>Every setting of the <c>Gateway</c> section: ranges, URLs and the rules that span fields (a JWT issuer needs an audience, ...).</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private const int MaxCachedBodyBytes = 64 * 1024 * 1024;

    private const string Gateway = GatewayOptions.SectionName;
    private const string Auth = Gateway + ":Auth";
    private const string RateLimiting = Gateway + ":RateLimiting";
    private const string Routing = Gateway + ":Routing";
    private const string Caching = Gateway + ":Caching";
    private const string Shadowing = Gateway + ":Shadowing";
    private const string Capturing = Gateway + ":Capturing";
    private const string Resilience = Gateway + ":Resilience";
    private const string Usage = Gateway + ":Usage";

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new OptionsFailures();
        failures.AtLeast(Gateway, options.MaxRequestBodyBytes, 1024);
        failures.AtLeast(Gateway, options.MaxControlPlaneBodyBytes, 1024);
        if (!string.IsNullOrWhiteSpace(options.GrpcUrl)
            && !(Uri.TryCreate(options.GrpcUrl, UriKind.Absolute, out var grpc) && grpc.Scheme == Uri.UriSchemeHttp))
        {
            failures.Add($"{Gateway}:GrpcUrl '{options.GrpcUrl}' must be an absolute http:// URL (gRPC is served as cleartext HTTP/2), e.g. http://127.0.0.1:5081");
        }

        failures.Range(Auth, options.Auth.KeyCacheSeconds, 1, 3600);
        failures.Range(Auth, options.Auth.NegativeKeyCacheSeconds, 0, 600);
        failures.Range(Auth, options.Auth.KeyStaleSeconds, 0, 86400);
        failures.Range(Auth, options.Auth.KeyCacheCapacity, 16, 10_000_000);
        failures.Range(Auth, options.Auth.LookupTimeoutMilliseconds, 50, 60_000);
        options.Auth.Jwt.Validate(Auth + ":Jwt", failures);

        failures.Range(RateLimiting, options.RateLimiting.RedisTimeoutMilliseconds, 10, 10_000);
        failures.Range(RateLimiting, options.RateLimiting.LeaseMilliseconds, 10, 60_000);
        Plan(RateLimiting + ":Default", options.RateLimiting.Default, failures);
        if (options.RateLimiting.PerModel is { } perModel)
        {
            Plan(RateLimiting + ":PerModel", perModel, failures);
        }

        failures.Range(Routing, options.Routing.RefreshSeconds, 1, 3600);
        failures.Range(Routing, options.Routing.FetchTimeoutMilliseconds, 50, 60_000);

        failures.Range(Caching, options.Caching.MaxBodyBytes, 0, MaxCachedBodyBytes);
        failures.Range(Caching, options.Caching.MaxResponseBytes, 0, MaxCachedBodyBytes);
        failures.Range(Caching, options.Caching.RedisTimeoutMilliseconds, 10, 10_000);

        failures.Range(Shadowing, options.Shadowing.QueueCapacity, 1, 100_000);
        failures.Range(Shadowing, options.Shadowing.Concurrency, 1, 256);
        failures.Range(Shadowing, options.Shadowing.MaxBodyBytes, 1024, MaxCachedBodyBytes);
        failures.Range(Shadowing, options.Shadowing.TimeoutMilliseconds, 50, 600_000);

        failures.Range(Capturing, options.Capturing.QueueCapacity, 1, 1_000_000);
        failures.Range(Capturing, options.Capturing.MaxBodyBytes, 1024, MaxCachedBodyBytes);
        failures.Range(Capturing, options.Capturing.StreamMaxLength, 100, 100_000_000);

        failures.Range(Usage, options.Usage.FlushMilliseconds, 100, 60_000);

        failures.Range(Resilience, options.Resilience.UpstreamTimeoutSeconds, 1, 3600);
        failures.Range(Resilience, options.Resilience.ConnectRetries, 0, 16);
        failures.Range(Resilience, options.Resilience.ActiveHealthIntervalSeconds, 1, 3600);
        failures.Range(Resilience, options.Resilience.ActiveHealthTimeoutSeconds, 1, 600);
        failures.Range(Resilience, options.Resilience.BreakerFailureThreshold, 1, 1000);
        failures.Range(Resilience, options.Resilience.BreakerCooldownSeconds, 1, 3600);
        return failures.Result();
    }

    private static void Plan(string section, PlanOptions plan, OptionsFailures failures)
    {
        failures.Range(section, plan.RequestsPerSecond, 0.001, 1_000_000);
        failures.Range(section, plan.Burst, 1, 10_000_000);
    }
}
