using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using System.Security.Claims;
using System.Text;
using Hyperion.Tests.TestSupport;
using Hyperion.Tests.Graph;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hyperion.Tests.Gateway;

/// <summary>
/// The graph with two gateway replicas (they share rate limits, the cache and statistics through Redis), JWTs from
/// a test issuer accepted by the gateway and the orchestrator, and anonymous health and metadata on.
/// </summary>
public class GatewayFixture : HyperionAppFixture
{
    public const string JwtIssuer = "https://issuer.hyperion.test";
    public const string JwtAudience = "hyperion";
    public const string JwtSigningKey = "a-test-signing-key-of-at-least-32-bytes!";

    protected virtual int GatewayReplicas => 2;

    public int Gateways => GatewayReplicas;

    protected override void Configure(IDictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Hyperion:GatewayReplicas"] = GatewayReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        var orchestrator = builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "orchestrator"));
        foreach (var gateway in ReplicasOf(builder, "gateway"))
        {
            foreach (var (key, value) in GatewaySettings())
            {
                gateway.WithEnvironment(key, value);
            }
        }
        orchestrator.WithEnvironment("Orchestrator__Jwt__SigningKey", JwtSigningKey)
            .WithEnvironment("Orchestrator__Jwt__Issuer", JwtIssuer)
            .WithEnvironment("Orchestrator__Jwt__Audience", JwtAudience);
    }

    protected virtual IEnumerable<(string Key, string Value)> GatewaySettings()
    {
        yield return ("Gateway__Auth__Jwt__SigningKey", JwtSigningKey);
        yield return ("Gateway__Auth__Jwt__Issuer", JwtIssuer);
        yield return ("Gateway__Auth__Jwt__Audience", JwtAudience);
        yield return ("Gateway__Auth__AllowAnonymousMetadata", "true");
        yield return ("Gateway__MaxRequestBodyBytes", MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public const int MaxRequestBodyBytes = 2 * 1024 * 1024;

    /// <summary>A gateway client (replica <paramref name="replica"/>) sending <paramref name="key"/> (the admin key when null).</summary>
    public HttpClient CreateGatewayClient(string? key = null, int replica = 0) => CreateApiClient("gateway", key, replica);

    /// <summary>A token from the test issuer; <paramref name="signingKey"/> other than the configured one makes a forgery.</summary>
    public static string CreateJwt(string subject, string scope, string? signingKey = null, string audience = JwtAudience, TimeSpan? lifetime = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = JwtIssuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", scope)]),
            NotBefore = now.AddMinutes(-1),
            IssuedAt = now.AddMinutes(-1),
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(10)),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey ?? JwtSigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "Gateway graph";
}

/// <summary>
/// A graph of its own for the tests that take things down (Redis, the orchestrator, an inference replica): keys
/// trusted for 2 s only (so a test sees the gateway carry on past the time to live), anonymous metadata off (the
/// default), and two gateways that differ in one setting: gateway-1 refuses requests when rate limits cannot be
/// checked (Gateway:RateLimiting:FailClosed), gateway-0 lets them through (the default).
/// </summary>
public sealed class GatewayDegradedFixture : GatewayFixture
{
    public const int FailClosedReplica = 1;

    protected override IEnumerable<(string Key, string Value)> GatewaySettings()
    {
        foreach (var setting in base.GatewaySettings())
        {
            if (setting.Key != "Gateway__Auth__AllowAnonymousMetadata")
            {
                yield return setting;
            }
        }
        yield return ("Gateway__Auth__KeyCacheSeconds", "2");
        yield return ("Gateway__Routing__RefreshSeconds", "2");
    }

    protected override void ConfigureGraph(IDistributedApplicationTestingBuilder builder)
    {
        base.ConfigureGraph(builder);
        ReplicasOf(builder, "gateway")[FailClosedReplica].WithEnvironment("Gateway__RateLimiting__FailClosed", "true");
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayDegradedCollection : ICollectionFixture<GatewayDegradedFixture>
{
    public const string Name = "Gateway degraded";
}
