using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Auth;
using Hyperion.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>The rate limiter's decisions that need no Redis: leased tokens, no caller, Redis unreachable.</summary>
public sealed class RateLimitStageTests
{
    private static readonly CallerIdentity s_caller = new("key:1", ["infer"], new RateLimitPlan(10, 320), new ClaimsPrincipal());

    [Fact]
    public async Task A_call_admitted_without_a_credential_is_not_counted()
    {
        using var host = new StageHost(options => options.RateLimiting.FailClosed = true);
        var context = StageHost.Classified("GET", "/v2/health/ready");
        context.Features.Set(Admission.WithoutCredential);

        Assert.Equal(1, (await host.RunAsync<RateLimitStage>(context)).Calls);
        Assert.False(context.Response.Headers.ContainsKey("RateLimit-Limit"));
    }

    [Fact]
    public void A_token_this_replica_leased_admits_the_request_without_asking_Redis()
    {
        using var host = new StageHost(options => options.RateLimiting.LeaseMilliseconds = 60_000);
        // What Redis granted on the caller's last check: 4 tokens, one spent then, 300 left in the shared bucket.
        host.Get<TokenLeases>().Store(s_caller.RateLimitKey, "digits", smallestBurst: 320, asked: 4,
            new RateLimitDecision(Allowed: true, Limit: 320, Remaining: 300, ResetSeconds: 2, RetryAfterSeconds: 0, Granted: 4));
        var next = new NextStage();
        var context = Admitted();

        // Synchronous: no Redis round trip, no state machine.
        Assert.True(host.Build<RateLimitStage>(next)(context).IsCompletedSuccessfully);

        Assert.Equal(1, next.Calls);
        Assert.Equal("320", context.Response.Headers["RateLimit-Limit"]);
        Assert.Equal("302", context.Response.Headers["RateLimit-Remaining"]);
        Assert.Equal("2", context.Response.Headers["RateLimit-Reset"]);
    }

    [Fact]
    public async Task With_Redis_unreachable_a_request_goes_through_unless_the_limiter_fails_closed()
    {
        using (var open = new StageHost())
        {
            Assert.Equal(1, (await open.RunAsync<RateLimitStage>(Admitted())).Calls);
        }

        using var closed = new StageHost(options => options.RateLimiting.FailClosed = true);
        var context = Admitted();
        Assert.Equal(0, (await closed.RunAsync<RateLimitStage>(context)).Calls);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("1", context.Response.Headers.RetryAfter);
        Assert.Equal("""{"error":"rate limits cannot be checked now (the limit store is unreachable); retry shortly"}""", StageHost.ResponseText(context));
    }

    [Fact]
    public async Task Without_an_admission_it_names_the_stage_that_must_run_first_even_when_switched_off()
    {
        using var host = new StageHost(options => options.RateLimiting.Enabled = false);
        Assert.StartsWith("RateLimitStage needs the request's Admission, which AuthorizationStage sets",
            await host.MissingResultAsync<RateLimitStage>(StageHost.Classified("POST", "/v2/models/digits/infer")));
    }

    private static DefaultHttpContext Admitted()
    {
        var context = StageHost.Classified("POST", "/v2/models/digits/infer");
        context.Features.Set(s_caller.Admission);
        return context;
    }
}
