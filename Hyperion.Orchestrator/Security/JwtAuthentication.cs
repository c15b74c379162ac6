using System.Security.Claims;
using System.Text;
using Hyperion.Contracts.ControlPlane;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Hyperion.Orchestrator.Security;

/// <summary>
/// JWT bearer tokens on <c>/api/v1</c>, from the same issuer the gateway accepts (section <c>Orchestrator:Jwt</c>:
/// Authority or SigningKey, Issuer, Audience, ScopeClaim). The default scheme picks by the token's shape: <c>hyp_</c>
/// keys go to <see cref="ApiKeyAuthenticationHandler"/>, anything else to JwtBearer when configured. Scopes from
/// the configured claim become <see cref="Scopes.ClaimType"/> claims, so policies and the audit actor work as for keys.
/// </summary>
internal static class JwtAuthentication
{
    public const string SelectorScheme = "BearerKeyOrJwt";
    public const string SectionName = "Orchestrator:Jwt";

    public static AuthenticationBuilder AddApiKeyOrJwt(this IServiceCollection services, IConfiguration configuration)
    {
        var jwt = configuration.GetSection(SectionName);
        var signingKey = jwt["SigningKey"];
        var authority = jwt["Authority"];
        var enabled = !string.IsNullOrWhiteSpace(signingKey) || !string.IsNullOrWhiteSpace(authority);
        var scopeClaim = jwt["ScopeClaim"] is { Length: > 0 } claim ? claim : Scopes.ClaimType;
        if (enabled && string.IsNullOrWhiteSpace(jwt["Audience"]))
        {
            throw new InvalidOperationException($"{SectionName}:Audience is required when JWTs are accepted (the 'aud' tokens must carry).");
        }
        if (!string.IsNullOrWhiteSpace(signingKey) && (Encoding.UTF8.GetByteCount(signingKey) < 32 || string.IsNullOrWhiteSpace(jwt["Issuer"])))
        {
            throw new InvalidOperationException($"{SectionName}:SigningKey must be at least 32 bytes (HS256) and {SectionName}:Issuer must be set with it.");
        }

        var authentication = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key or JWT", options =>
            {
                options.ForwardDefaultSelector = context => enabled && IsJwt(context) ? JwtBearerDefaults.AuthenticationScheme : ApiKeyAuthenticationHandler.SchemeName;
                // The key handler's 403 says which scope was missing, for tokens too.
                options.ForwardForbid = ApiKeyAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (!enabled)
        {
            return authentication;
        }
        return authentication.AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            options.RequireHttpsMetadata = jwt.GetValue("RequireHttpsMetadata", true);
            if (!string.IsNullOrWhiteSpace(authority))
            {
                options.Authority = authority;
            }
            options.Audience = jwt["Audience"];
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = !string.IsNullOrWhiteSpace(jwt["Issuer"]) || !string.IsNullOrWhiteSpace(authority),
                ValidIssuer = string.IsNullOrWhiteSpace(jwt["Issuer"]) ? null : jwt["Issuer"],
                ValidAudience = jwt["Audience"],
                NameClaimType = "sub",
                IssuerSigningKey = string.IsNullOrWhiteSpace(signingKey) ? null : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)),
            };
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
        });
    }

    private static bool IsJwt(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && !header.AsSpan("Bearer ".Length).Trim().StartsWith(ApiKeyFormat.Marker, StringComparison.Ordinal);
    }
}
