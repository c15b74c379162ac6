using System.Security.Claims;
using Hyperion.Gateway.Routing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Auth;

/// <summary>
/// JWT bearer tokens from the issuer in <c>Gateway:Auth:Jwt</c> (ASP.NET Core's JwtBearer handler validates them);
/// scopes come from the configured claim, one per claim or space-separated.
/// </summary>
internal static class JwtAuthentication
{
    public const string Scheme = JwtBearerDefaults.AuthenticationScheme;

    public static void Add(IServiceCollection services)
    {
        // ASP.NET Core makes a lone scheme the default and runs it on every request (WebApplication adds the
        // authentication middleware by itself): that would validate tokens on /health and twice on inference. The
        // gateway authenticates in its own stage, only where a route needs it, and asks this scheme only when
        // Gateway:Auth:Jwt names an issuer; so the scheme is always there, configured from the validated options.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddJwtBearer(Scheme, _ => { });
        services.AddOptions<JwtBearerOptions>(Scheme)
            .Configure<IOptions<GatewayOptions>>((bearer, gateway) => Configure(bearer, gateway.Value.Auth.Jwt));
    }

    private static void Configure(JwtBearerOptions bearer, JwtIssuerOptions jwt)
    {
        if (!jwt.Enabled)
        {
            return;
        }
        jwt.ConfigureBearer(bearer);
        bearer.TokenValidationParameters.ClockSkew = TimeSpan.FromSeconds(30);
        bearer.TokenValidationParameters.RoleClaimType = jwt.ScopeClaim;
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
