using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.RateLimiting;

/// <summary>
/// Proxy stage: one token per request from the caller's bucket (and its bucket for the model), with the key's plan
/// or <see cref="RateLimitOptions.Default"/>; a busy caller's tokens come from a lease when this replica holds one
/// (<see cref="TokenLeases"/>). Answers carry <c>RateLimit-Limit</c>, <c>RateLimit-Remaining</c>,
/// <c>RateLimit-Reset</c>; a refused one is 429 with <c>Retry-After</c>. When Redis cannot be asked the request goes
/// through (counted as fail_open, logged) unless <see cref="RateLimitOptions.FailClosed"/>.
/// </summary>
internal sealed partial class RateLimitStage(
    RequestDelegate next,
    RedisTokenBuckets buckets,
    TokenLeases leases,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    ILogger<RateLimitStage> logger)
{
    private readonly RateLimitOptions _options = options.Value.RateLimiting;
    private readonly RateLimitPlan _default = options.Value.RateLimiting.Default.ToPlan();
    private readonly RateLimitPlan? _perModel = options.Value.RateLimiting.PerModel?.ToPlan();
    private long _lastWarning;

    // Not async: a request served from a lease (the busy caller's usual case) passes without a state machine.
    public Task InvokeAsync(HttpContext context)
    {
        // Needed even when off: a pipeline built in the wrong order fails in every configuration.
        var admission = context.Need<Admission>(nameof(RateLimitStage));
        if (!_options.Enabled || admission.Caller is not { } caller)
        {
            return next(context);
        }
        var request = context.Need<RequestClassification>(nameof(RateLimitStage));

        var plan = caller.Plan ?? _default;
        var modelPlan = request.Model is null ? null : _perModel ?? plan;
        var leaseModel = modelPlan is null ? null : request.Model;
        return leases.TryTake(caller.RateLimitKey, leaseModel, out var decision)
            ? ApplyAsync(context, request, plan, decision)
            : AskRedisAsync(context, request, caller, plan, modelPlan, leaseModel);
    }

    private async Task AskRedisAsync(HttpContext context, RequestClassification request, CallerIdentity caller, RateLimitPlan plan, RateLimitPlan? modelPlan, string? leaseModel)
    {
        if (!buckets.IsConnected)
        {
            await DegradedAsync(context, request, "Redis is not connected");
            return;
        }
        RateLimitDecision decision;
        try
        {
            var smallestBurst = Math.Min(plan.Burst, modelPlan?.Burst ?? int.MaxValue);
            var asked = leases.SizeFor(caller.RateLimitKey, leaseModel, smallestBurst);
            // Bounded by the multiplexer's timeout (RedisTimeoutMilliseconds, see GatewayRedis).
            var granted = await buckets.TakeAsync(caller.RateLimitKey, plan, request.Model, modelPlan, asked);
            decision = leases.Store(caller.RateLimitKey, leaseModel, smallestBurst, asked, granted);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            await DegradedAsync(context, request, "Redis did not answer", ex);
            return;
        }
        await ApplyAsync(context, request, plan, decision);
    }

    private Task ApplyAsync(HttpContext context, RequestClassification request, RateLimitPlan plan, RateLimitDecision decision)
    {
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = RedisTokenBuckets.Format(decision.Limit);
        headers["RateLimit-Remaining"] = RedisTokenBuckets.Format(decision.Remaining);
        headers["RateLimit-Reset"] = RedisTokenBuckets.Format(decision.ResetSeconds);
        if (!decision.Allowed)
        {
            metrics.RateLimit("limited");
            headers.RetryAfter = RedisTokenBuckets.Format(decision.RetryAfterSeconds);
            return GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status429TooManyRequests,
                $"rate limit exceeded: {plan.Burst} requests at once, refilled at {plan.RequestsPerSecond} per second; retry after {decision.RetryAfterSeconds} s");
        }
        metrics.RateLimit("allowed");
        return next(context);
    }

    private async Task DegradedAsync(HttpContext context, RequestClassification request, string reason, Exception? failure = null)
    {
        // One warning per 10 s at most: an outage must not flood the log.
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastWarning);
        if (now - last > 10_000 && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            LogRedisUnavailable(logger, failure, _options.FailClosed ? "refused (Gateway:RateLimiting:FailClosed)" : "let through unlimited", reason);
        }
        if (_options.FailClosed)
        {
            metrics.RateLimit("fail_closed");
            context.Response.Headers.RetryAfter = "1";
            await GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status503ServiceUnavailable,
                "rate limits cannot be checked now (the limit store is unreachable); retry shortly");
            return;
        }
        metrics.RateLimit("fail_open");
        await next(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limits cannot be checked (Redis): requests are {Consequence}: {Reason}")]
    private static partial void LogRedisUnavailable(ILogger logger, Exception? exception, string consequence, string reason);
}
