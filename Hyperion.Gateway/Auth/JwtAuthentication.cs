using System.Security.Claims;
using System.Text;
using Hyperion.Gateway.Routing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Hyperion.Gateway.Auth;

/// <summary>
/// JWT bearer tokens from the issuer in <c>Gateway:Auth:Jwt</c> (ASP.NET Core's JwtBearer handler validates them);
/// scopes come from the configured claim, one per claim or space-separated.
/// </summary>
internal static class JwtAuthentication
{
    public const string Scheme = JwtBearerDefaults.AuthenticationScheme;

    public static void Add(IServiceCollection services, JwtOptions jwt)
    {
        // ASP.NET Core makes a lone scheme the default and runs it on every request (WebApplication adds the
        // authentication middleware by itself): that would validate tokens on /health and twice on inference. The
        // gateway authenticates in its own stage, only where a route needs it.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        var authentication = services.AddAuthentication();
        if (!jwt.Enabled)
        {
            return;
        }
        authentication.AddJwtBearer(Scheme, bearer =>
        {
            bearer.MapInboundClaims = false;
            bearer.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
            if (!string.IsNullOrWhiteSpace(jwt.Authority))
            {
                bearer.Authority = jwt.Authority;
            }
            bearer.Audience = jwt.Audience;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = !string.IsNullOrWhiteSpace(jwt.Issuer) || !string.IsNullOrWhiteSpace(jwt.Authority),
                ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
                ValidateAudience = true,
                ValidAudience = jwt.Audience,
                ValidateLifetime = true,
                ClockSkew = TimeSpan.FromSeconds(30),
                NameClaimType = "sub",
                RoleClaimType = jwt.ScopeClaim,
                IssuerSigningKey = string.IsNullOrWhiteSpace(jwt.SigningKey) ? null : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey)),
            };
        });
    }

    /// <summary>The caller a validated token stands for.</summary>
    public static CallerIdentity ToCaller(ClaimsPrincipal principal, string scopeClaim)
    {
        var scopes = new List<string>();
        foreach (var claim in principal.FindAll(scopeClaim))
        {
            scopes.AddRange(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        var subject = principal.FindFirstValue("sub") ?? principal.FindFirstValue("client_id") ?? "anonymous-token";
        return new CallerIdentity("jwt:" + subject, scopes, Plan: null, principal);
    }
}
