using System.Security.Claims;
using Hyperion.Gateway.Auth;
using Microsoft.AspNetCore.Http;

namespace Hyperion.Tests.Gateway.Stages;

/// <summary>
/// Who may make a call, decided from what it asks for and its credential: JWTs come from the gateway's token cache, so
/// no issuer and no orchestrator is asked.
/// </summary>
public sealed class AuthorizationStageTests
{
    [Fact]
    public async Task Without_a_classification_it_names_the_stage_that_must_run_first()
    {
        using var host = new StageHost();
        Assert.StartsWith("AuthorizationStage needs the request's RequestClassification, which ClassificationStage sets",
            await host.MissingResultAsync<AuthorizationStage>(StageHost.Request("POST", "/v2/models/digits/infer")));
    }

    [Fact]
    public async Task The_control_plane_passes_without_a_credential_and_with_no_caller()
    {
        using var host = new StageHost();
        var context = StageHost.Classified("POST", "/api/v1/keys");

        Assert.Equal(1, (await host.RunAsync<AuthorizationStage>(context)).Calls);
        Assert.Same(Admission.WithoutCredential, context.Features.Get<Admission>());
    }

    [Fact]
    public async Task A_model_call_without_a_credential_is_401_and_says_what_to_send()
    {
        using var host = new StageHost();
        var context = StageHost.Classified("POST", "/v2/models/digits/infer");

        Assert.Equal(0, (await host.RunAsync<AuthorizationStage>(context)).Calls);
        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.Equal("Bearer", context.Response.Headers.WWWAuthenticate);
        Assert.Contains("this call needs 'Authorization: Bearer <key>'", StageHost.ResponseText(context));
        Assert.Null(context.Features.Get<Admission>());
    }

    [Fact]
    public async Task A_known_caller_is_admitted_with_the_same_admission_on_every_request()
    {
        using var host = JwtHost(out var caller, "infer:digits");
        var stage = host.Build<AuthorizationStage>(new NextStage());
        var first = WithToken("POST", "/v2/models/digits/infer");
        var second = WithToken("GET", "/v2/models/digits/ready");

        await stage(first);
        await stage(second);

        Assert.Same(caller, first.Features.Get<Admission>()?.Caller);
        Assert.Same(first.Features.Get<Admission>(), second.Features.Get<Admission>());
        Assert.Same(caller.Principal, first.User);
    }

    [Fact]
    public async Task A_caller_without_the_model_s_scope_is_403_and_told_which_scopes_would_do()
    {
        using var host = JwtHost(out _, "infer:other");
        var context = WithToken("POST", "/v2/models/digits/infer");

        Assert.Equal(0, (await host.RunAsync<AuthorizationStage>(context)).Calls);
        Assert.Equal(StatusCodes.Status403Forbidden, context.Response.StatusCode);
        Assert.Equal("""{"error":"this call needs the scope 'infer:digits', 'infer' or 'admin'; the credential has [infer:other]"}""", StageHost.ResponseText(context));
    }

    // A JWT the gateway validated before: found in its token cache, so no issuer is asked.
    private const string KnownToken = "header.payload.signature";

    private static StageHost JwtHost(out CallerIdentity caller, params string[] scopes)
    {
        var host = new StageHost(options => options.Auth.Jwt.SigningKey = "a signing key only the JWT set-up reads");
        caller = new CallerIdentity("jwt:user-1", scopes, Plan: null, new ClaimsPrincipal(new ClaimsIdentity("test")));
        host.Get<ValidatedTokenCache>().Add(KnownToken, caller);
        return host;
    }

    private static DefaultHttpContext WithToken(string method, string path)
    {
        var context = StageHost.Classified(method, path);
        context.Request.Headers.Authorization = "Bearer " + KnownToken;
        return context;
    }
}
