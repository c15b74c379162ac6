using System.Diagnostics;
using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.Usage;

/// <summary>
/// Proxy stage, after the rate limit: a caller with a quota (its key's or its team's) is refused with 429 once the
/// quota is used up, with <c>RateLimit-Limit</c>, <c>RateLimit-Remaining</c> (0), <c>RateLimit-Reset</c> and
/// <c>Retry-After</c> describing the quota, as the rate limiter does for its buckets; then every inference request
/// (model or pipeline) is metered when its answer is done: one request, its rows (the replica's
/// <see cref="UsageCounters.RowsHeader"/>, else 1 for a success) and its time through the rest of the gateway, by
/// caller, team and model (<see cref="UsageMeter"/>: in memory, to Redis once a second, never a database write).
/// </summary>
internal sealed partial class UsageStage(
    RequestDelegate next,
    UsageMeter meter,
    QuotaCheck quotas,
    RoutingTableCache routing,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<UsageStage> logger)
{
    /// <summary>The model a request is metered under when the gateway knows no model or pipeline of its name (names from requests are not kept).</summary>
    public const string UnknownModel = "unknown";

    private readonly UsageOptions _options = options.Value.Usage;
    private long _lastWarning;

    public Task InvokeAsync(HttpContext context)
    {
        var admission = context.Need<Admission>(nameof(UsageStage));
        var request = context.Need<RequestClassification>(nameof(UsageStage));
        if (!_options.Enabled || admission.Caller is not { } caller || request.Kind is not (RequestKind.Infer or RequestKind.PipelineInfer))
        {
            return next(context);
        }
        return caller.HasQuota ? CheckQuotaAsync(context, request, caller) : MeterAsync(context, request, caller);
    }

    private async Task CheckQuotaAsync(HttpContext context, RequestClassification request, CallerIdentity caller)
    {
        if (!quotas.IsConnected)
        {
            await DegradedAsync(context, request, caller, failure: null);
            return;
        }
        QuotaDecision decision;
        try
        {
            decision = await quotas.TakeAsync(caller);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            await DegradedAsync(context, request, caller, ex);
            return;
        }
        if (decision.Exceeded is { } quota)
        {
            metrics.Quota(caller.TeamLabel, "exceeded");
            var headers = context.Response.Headers;
            var reset = decision.SecondsToReset.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture);
            headers["RateLimit-Remaining"] = "0";
            headers["RateLimit-Reset"] = reset;
            headers.RetryAfter = reset;
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status429TooManyRequests,
                $"quota exceeded: {quota.Owner} may make {quota.Limit} requests per {quota.Period} (UTC) and has made {decision.Count} {quota.Current}; "
                + $"it resets at {quota.Resets.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)} (in {reset} s); an admin raises it with PUT {quota.Path}");
            return;
        }
        metrics.Quota(caller.TeamLabel, "allowed");
        context.Response.Headers["Hyperion-Quota-Remaining"] = decision.Count.ToString(CultureInfo.InvariantCulture);
        await MeterAsync(context, request, caller);
    }

    /// <summary>Redis cannot be asked: let the request through (metered), or refuse it with <see cref="UsageOptions.QuotaFailClosed"/>.</summary>
    private async Task DegradedAsync(HttpContext context, RequestClassification request, CallerIdentity caller, Exception? failure)
    {
        WarnAtMostEvery10Seconds(failure);
        if (_options.QuotaFailClosed)
        {
            metrics.Quota(caller.TeamLabel, "fail_closed");
            context.Response.Headers.RetryAfter = "1";
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status503ServiceUnavailable,
                "quotas cannot be checked now (the quota store is unreachable); retry shortly");
            return;
        }
        metrics.Quota(caller.TeamLabel, "fail_open");
        await MeterAsync(context, request, caller);
    }

    private async Task MeterAsync(HttpContext context, RequestClassification request, CallerIdentity caller)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var response = context.Response;
            var rows = response.Headers.TryGetValue(UsageCounters.RowsHeader, out var given) && long.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var counted)
                ? counted
                : response.StatusCode is >= 200 and < 300 ? 1 : 0;
            var milliseconds = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            meter.Record(caller.RateLimitSubject, caller.Team ?? "", ModelOf(request), rows, milliseconds);
            metrics.Usage(caller.TeamLabel, rows, milliseconds / 1000.0);
        }
    }

    // Only names the routing table holds: a request for a made-up model must not add a row per name.
    private string ModelOf(RequestClassification request)
    {
        var snapshot = routing.Current;
        if (request.Kind == RequestKind.PipelineInfer)
        {
            return snapshot.FindPipeline(request.Pipeline!) is not null ? "pipeline:" + request.Pipeline : UnknownModel;
        }
        return snapshot.Find(request.Model!) is { } policy ? policy.Model : UnknownModel;
    }

    private void WarnAtMostEvery10Seconds(Exception? failure)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastWarning);
        if (now - last > 10_000 && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            LogRedisUnavailable(logger, failure, _options.QuotaFailClosed ? "refused (Gateway:Usage:QuotaFailClosed)" : "let through");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quotas cannot be checked (Redis): requests of callers with a quota are {Consequence}")]
    private static partial void LogRedisUnavailable(ILogger logger, Exception? exception, string consequence);
}
