using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// JWT bearer tokens from one issuer, as the gateway (<c>Gateway:Auth:Jwt</c>) and the orchestrator
/// (<c>Orchestrator:Jwt</c>) accept them: either its <see cref="Authority"/> (keys from its OpenID metadata) or a
/// symmetric <see cref="SigningKey"/>. Set the same issuer in both and a token works on every route.
/// </summary>
public sealed class JwtIssuerOptions
{
    public string? Authority { get; set; }

    /// <summary>HS256 key (at least 32 bytes of UTF-8).</summary>
    public string? SigningKey { get; set; }

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>The claim that carries scopes: one scope per claim, or several separated by spaces; by default the control plane's own (<c>Scopes.ClaimType</c>).</summary>
    public string ScopeClaim { get; set; } = "scope";

    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);

    /// <summary>The rules that span fields, for the validator of the options this section is part of (<paramref name="section"/>: its path).</summary>
    public void Validate(string section, OptionsFailures failures)
    {
        if (!Enabled)
        {
            return;
        }
        if (string.IsNullOrWhiteSpace(Audience))
        {
            failures.Add($"{section}:Audience is required when JWTs are accepted (the 'aud' tokens must carry)");
        }
        if (!string.IsNullOrWhiteSpace(Authority) && !Uri.TryCreate(Authority, UriKind.Absolute, out _))
        {
            failures.Add($"{section}:Authority '{Authority}' must be an absolute URL (the issuer whose OpenID metadata holds the signing keys)");
        }
        if (!string.IsNullOrWhiteSpace(SigningKey))
        {
            if (Encoding.UTF8.GetByteCount(SigningKey) < 32)
            {
                failures.Add($"{section}:SigningKey must be at least 32 bytes (HS256)");
            }
            if (string.IsNullOrWhiteSpace(Issuer))
            {
                failures.Add($"{section}:Issuer is required with a SigningKey (the 'iss' tokens must carry)");
            }
        }
        if (string.IsNullOrWhiteSpace(ScopeClaim))
        {
            failures.Add($"{section}:ScopeClaim must name the claim that carries scopes (e.g. 'scope')");
        }
    }

    /// <summary>
    /// JwtBearer for this issuer, as both services validate its tokens: claims keep the names the token gives them,
    /// <c>sub</c> names the caller. Nothing when no issuer is set. Each service adds what is its own afterwards.
    /// </summary>
    public void ConfigureBearer(JwtBearerOptions bearer)
    {
        if (!Enabled)
        {
            return;
        }
        bearer.MapInboundClaims = false;
        bearer.RequireHttpsMetadata = RequireHttpsMetadata;
        if (!string.IsNullOrWhiteSpace(Authority))
        {
            bearer.Authority = Authority;
        }
        bearer.Audience = Audience;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = !string.IsNullOrWhiteSpace(Issuer) || !string.IsNullOrWhiteSpace(Authority),
            ValidIssuer = string.IsNullOrWhiteSpace(Issuer) ? null : Issuer,
            ValidAudience = Audience,
            NameClaimType = "sub",
            IssuerSigningKey = string.IsNullOrWhiteSpace(SigningKey) ? null : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)),
        };
    }
}
