using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Auth;

/// <summary>
/// Proxy stage: who is calling (an API key through <see cref="ApiKeyCache"/>, or a JWT) and whether its scopes
/// admit the call: <c>infer</c>/<c>infer:&lt;model&gt;</c>/<c>admin</c> for a model (for a pipeline, for each of its steps'
/// models), <c>admin</c> for the repository extension, any valid credential for server-wide calls. 401 without or with
/// a bad credential, 403 without the scope. <c>/api/v1</c> passes untouched: the orchestrator authenticates it. Sets the
/// <see cref="Admission"/> the rate limiter reads.
/// </summary>
internal sealed class AuthorizationStage(
    RequestDelegate next, ApiKeyCache keys, ValidatedTokenCache tokens, RoutingTableCache routing, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    private const string BearerPrefix = "Bearer ";
    private readonly AuthOptions _options = options.Value.Auth;

    // Not async: a known key or token (every request after a caller's first) passes without a state machine.
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Need<RequestClassification>(nameof(AuthorizationStage));
        if (request.Kind == RequestKind.ControlPlane
            || (_options.AllowAnonymousMetadata && request.Kind is RequestKind.Health or RequestKind.ServerMetadata or RequestKind.ModelMetadata))
        {
            metrics.Auth(request.Kind == RequestKind.ControlPlane ? "forwarded" : "anonymous");
            context.Features.Set(Admission.WithoutCredential);
            return next(context);
        }

        var authentication = AuthenticateAsync(context);
        return authentication.IsCompletedSuccessfully
            ? AdmitAsync(context, request, authentication.Result)
            : AdmitWhenAuthenticatedAsync(context, request, authentication);
    }

    private async Task AdmitWhenAuthenticatedAsync(HttpContext context, RequestClassification request, ValueTask<(CallerIdentity? Caller, int Status, string? Problem)> authentication) =>
        await AdmitAsync(context, request, await authentication);

    private Task AdmitAsync(HttpContext context, RequestClassification request, (CallerIdentity? Caller, int Status, string? Problem) authentication)
    {
        var (caller, status, problem) = authentication;
        if (caller is null)
        {
            metrics.Auth(status == StatusCodes.Status503ServiceUnavailable ? "unavailable" : "unauthenticated");
            if (status == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }
            return GatewayErrors.WriteAsync(context, request.ErrorStyle, status, problem!);
        }
        context.User = caller.Principal;

        if (caller.Team is not null && TeamRefusal(request, caller) is { } refusal)
        {
            metrics.Auth("forbidden");
            return GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status403Forbidden, refusal);
        }
        if (Forbidden(request, caller) is { } needed)
        {
            metrics.Auth("forbidden");
            return GatewayErrors.WriteAsync(context, request.ErrorStyle, StatusCodes.Status403Forbidden,
                $"this call needs the scope {needed}; the credential has [{string.Join(", ", caller.Scopes)}]");
        }
        metrics.Auth("allowed");
        context.Features.Set(caller.Admission);
        return next(context);
    }

    private async ValueTask<(CallerIdentity? Caller, int Status, string? Problem)> AuthenticateAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return (null, StatusCodes.Status401Unauthorized, "this call needs 'Authorization: Bearer <key>' (an API key from POST /api/v1/keys, or a JWT from the configured issuer)");
        }
        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return (null, StatusCodes.Status401Unauthorized, "the Authorization header must be 'Bearer <key or token>'");
        }
        var token = header.AsSpan(BearerPrefix.Length).Trim();
        if (token.StartsWith(ApiKeyFormat.Marker, StringComparison.Ordinal))
        {
            if (!ApiKeyFormat.LooksLikeKey(token))
            {
                return (null, StatusCodes.Status401Unauthorized, "the API key is malformed (expected 'hyp_' and 43 letters or digits)");
            }
            var key = token.Length == header.Length - BearerPrefix.Length ? header[BearerPrefix.Length..] : token.ToString();
            var (status, caller) = await keys.ResolveAsync(key, context.RequestAborted);
            return status switch
            {
                KeyStatus.Valid => (caller, 0, null),
                KeyStatus.Invalid => (null, StatusCodes.Status401Unauthorized, "the API key is unknown, revoked or expired"),
                _ => (null, StatusCodes.Status503ServiceUnavailable, "the API key cannot be checked now (the control plane is unreachable and the key was not seen recently); retry shortly"),
            };
        }
        if (!_options.Jwt.Enabled)
        {
            return (null, StatusCodes.Status401Unauthorized, "the bearer token is not an API key ('hyp_...') and this gateway accepts no JWTs (Gateway:Auth:Jwt is not configured)");
        }
        if (tokens.Find(header.AsSpan(BearerPrefix.Length).Trim()) is { } known)
        {
            return (known, 0, null);
        }
        var result = await context.AuthenticateAsync(JwtAuthentication.Scheme);
        if (!result.Succeeded)
        {
            var reason = result.Failure?.Message ?? "the token was not accepted";
            return (null, StatusCodes.Status401Unauthorized, $"the JWT is not valid: {reason}");
        }
        var validated = JwtAuthentication.ToCaller(result.Principal, _options.Jwt.ScopeClaim);
        tokens.Add(header.AsSpan(BearerPrefix.Length).Trim(), validated);
        return (validated, 0, null);
    }

    /// <summary>
    /// Why a team's key may not make this call on a model (or a pipeline step's model) of another team, or of none, by the
    /// routing table's <see cref="RoutingTable.ModelTeams"/>; null when the teams do not stand in the way.
    /// </summary>
    private string? TeamRefusal(RequestClassification request, CallerIdentity caller)
    {
        var snapshot = routing.Current;
        if (request.Kind is RequestKind.Infer or RequestKind.ModelMetadata && request.Model is { } model)
        {
            return Scopes.TeamRefusal(caller.Team, model, snapshot.TeamOf(model));
        }
        if (request.Kind == RequestKind.PipelineInfer && snapshot.FindPipeline(request.Pipeline!) is { } plan)
        {
            foreach (var step in plan.Models)
            {
                if (Scopes.TeamRefusal(caller.Team, step, snapshot.TeamOf(step)) is { } refusal)
                {
                    return $"{refusal} (model '{step}' is a step of pipeline '{request.Pipeline}')";
                }
            }
        }
        return null;
    }

    /// <summary>The scope the call needs when the caller lacks it; null when allowed.</summary>
    private string? Forbidden(RequestClassification request, CallerIdentity caller) => request.Kind switch
    {
        RequestKind.Infer or RequestKind.ModelMetadata when request.Model is { } model =>
            Scopes.AllowsInfer(caller.Scopes, model) ? null : $"'infer:{model}', 'infer' or 'admin'",
        RequestKind.Repository => Scopes.AllowsAdmin(caller.Scopes) ? null : "'admin'",
        RequestKind.PipelineInfer => ForbiddenPipeline(request.Pipeline!, caller),
        _ => null,
    };

    /// <summary>
    /// A pipeline calls every model of its steps for the caller: <c>infer</c> or <c>admin</c>, or <c>infer:&lt;model&gt;</c>
    /// for each of them. An unknown pipeline needs some inference scope, and is answered 404 by the pipeline stage.
    /// </summary>
    private string? ForbiddenPipeline(string pipeline, CallerIdentity caller)
    {
        if (routing.Current.FindPipeline(pipeline) is not { } plan)
        {
            return caller.Scopes.Any(scope => scope is Scopes.Admin or Scopes.Infer || scope.StartsWith(Scopes.InferModelPrefix, StringComparison.Ordinal))
                ? null
                : "'infer' or 'admin'";
        }
        var missing = plan.Models.Where(model => !Scopes.AllowsInfer(caller.Scopes, model)).ToList();
        return missing.Count == 0
            ? null
            : $"'infer' or 'admin', or 'infer:<model>' for every model of pipeline '{pipeline}' (missing {string.Join(", ", missing.Select(model => $"'infer:{model}'"))})";
    }
}
