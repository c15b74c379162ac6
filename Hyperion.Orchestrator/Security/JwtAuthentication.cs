using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Hyperion.Orchestrator.Security;

/// <summary>
/// JWT bearer tokens on <c>/api/v1</c>, from the same issuer the gateway accepts (<see cref="OrchestratorOptions.Jwt"/>,
/// section <c>Orchestrator:Jwt</c>). The default scheme picks by the token's shape: <c>hyp_</c>
/// keys go to <see cref="ApiKeyAuthenticationHandler"/>, anything else to JwtBearer when configured. Scopes from
/// the configured claim become <see cref="Scopes.ClaimType"/> claims, so policies and the audit actor work as for keys.
/// </summary>
internal static class JwtAuthentication
{
    public const string SelectorScheme = "BearerKeyOrJwt";

    public static AuthenticationBuilder AddApiKeyOrJwt(this IServiceCollection services)
    {
        // Both schemes are always there; the selector sends tokens to JwtBearer only when Orchestrator:Jwt names an
        // issuer. Both are configured from the validated options, so a bad setting stops the start with the others.
        var authentication = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key or JWT", _ => { })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddJwtBearer(_ => { });
        services.AddOptions<PolicySchemeOptions>(SelectorScheme).Configure<IOptions<OrchestratorOptions>>((selector, options) =>
        {
            var enabled = options.Value.Jwt.Enabled;
            selector.ForwardDefaultSelector = context => enabled && IsJwt(context) ? JwtBearerDefaults.AuthenticationScheme : ApiKeyAuthenticationHandler.SchemeName;
            // The key handler's 403 says which scope was missing, for tokens too.
            selector.ForwardForbid = ApiKeyAuthenticationHandler.SchemeName;
        });
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<OrchestratorOptions>>((bearer, options) => Configure(bearer, options.Value.Jwt));
        return authentication;
    }

    private static void Configure(JwtBearerOptions options, JwtIssuerOptions jwt)
    {
        if (!jwt.Enabled)
        {
            return;
        }
        jwt.ConfigureBearer(options);
        var scopeClaim = jwt.ScopeClaim;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (scopeClaim != Scopes.ClaimType && context.Principal?.Identity is ClaimsIdentity identity)
                {
                    foreach (var granted in identity.FindAll(scopeClaim).ToList())
                    {
                        identity.AddClaim(new Claim(Scopes.ClaimType, granted.Value));
                    }
                }
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await AuthProblems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized",
                    context.AuthenticateFailure is { } failure
                        ? $"the JWT is not valid: {failure.Message}"
                        : "this call needs 'Authorization: Bearer <key or token>'");
            },
        };
    }

    private static bool IsJwt(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && !header.AsSpan("Bearer ".Length).Trim().StartsWith(ApiKeyFormat.Marker, StringComparison.Ordinal);
    }
}
