using System.Security.Claims;
using System.Text.Encodings.Web;
using Hyperion.Contracts.ControlPlane;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hyperion.Orchestrator.Security;

/// <summary>
/// <c>Authorization: Bearer hyp_...</c>: the key's hash is looked up on every request (no cache here), so a
/// revoked or expired key is refused by the control plane at once.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    Hyperion.Orchestrator.Keys.ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("the Authorization header must be 'Bearer <key>'");
        }
        var key = header["Bearer ".Length..].Trim();
        if (!key.StartsWith(ApiKeyFormat.Marker, StringComparison.Ordinal))
        {
            // Not ours: another scheme (a JWT) may take it.
            return AuthenticateResult.NoResult();
        }
        if (!ApiKeyFormat.LooksLikeKey(key))
        {
            return AuthenticateResult.Fail("the API key is malformed");
        }

        KeyIdentity? identity;
        try
        {
            identity = await keys.FindActiveAsync(ApiKeyFormat.Hash(key), Context.RequestAborted);
        }
        catch (NpgsqlException ex)
        {
            return AuthenticateResult.Fail(new InvalidOperationException("the key store is unavailable", ex));
        }
        if (identity is null)
        {
            return AuthenticateResult.Fail("the API key is unknown, revoked or expired");
        }
        return AuthenticateResult.Success(new AuthenticationTicket(ToPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = "Bearer";
        await AuthProblems.WriteAsync(
            Context,
            StatusCodes.Status401Unauthorized,
            "Unauthorized",
            result.Failure is { } failure
                ? $"{failure.Message}; send 'Authorization: Bearer <key>' with a valid key"
                : "this call needs 'Authorization: Bearer <key>' (an API key from POST /api/v1/keys, or the admin key)");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (Context.Features.Get<ScopeRefusal>() is { } refusal)
        {
            return AuthProblems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", refusal.Message);
        }
        var policy = Context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()?.Policy;
        var needed = ScopePolicies.Describe(policy);
        var granted = string.Join(", ", ActorClaims.ScopesOf(Context.User));
        return AuthProblems.WriteAsync(
            Context,
            StatusCodes.Status403Forbidden,
            "Forbidden",
            $"this call needs the scope {needed}; the key has [{granted}]");
    }

    private static ClaimsPrincipal ToPrincipal(KeyIdentity identity)
    {
        var claims = new List<Claim>(identity.Scopes.Count + 4)
        {
            new(ClaimTypes.NameIdentifier, identity.Id.ToString()),
            new(ClaimTypes.Name, identity.Name),
            new(ActorClaims.Actor, $"key:{identity.Name} ({identity.Prefix}…)"),
        };
        foreach (var scope in identity.Scopes)
        {
            claims.Add(new Claim(Scopes.ClaimType, scope));
        }
        if (identity.Team is { } team)
        {
            claims.Add(new Claim(Scopes.TeamClaimType, team));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.Name, Scopes.ClaimType));
    }
}
