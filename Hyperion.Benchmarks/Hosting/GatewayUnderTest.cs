using System.Security.Cryptography;
using System.Text;

namespace Hyperion.Benchmarks.Hosting;

/// <summary>
/// The gateway in front of one standalone inference server, as in the graph but without an orchestrator: a Redis of
/// its own (every request is rate limited, as in production: a busy caller's tokens come from Redis in leases),
/// callers authenticated with a JWT signed by a key made for the run (the orchestrator is not there to confirm API
/// keys), and no routing table (the model is forwarded as it is). The row measures what the gateway adds to each
/// request: auth, the rate limit, YARP. Given an <c>orchestrator</c> (<see cref="RoutingStandIn"/>) it routes by that
/// table instead, as behind a deployment.
/// </summary>
internal static class GatewayUnderTest
{
    private const string Issuer = "https://benchmark.hyperion.local";
    private const string Audience = "hyperion";

    public static (ChildProcess Redis, ChildProcess Gateway, Uri BaseUrl, string Token) Start(
        string redisServer, string gatewayDll, Uri inference, IReadOnlyDictionary<string, string> telemetry, string name = "gateway", Uri? orchestrator = null)
    {
        var redisPort = Toolchain.FreePort();
        var redis = ChildProcess.Start($"redis ({name})", redisServer,
            ["--port", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            new Dictionary<string, string>());

        var signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var port = Toolchain.FreePort();
        var gateway = ChildProcess.Start(name, Toolchain.DotnetHost,
            [gatewayDll, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string>(telemetry)
            {
                ["ConnectionStrings__cache"] = $"127.0.0.1:{redisPort}",
                ["services__inference__http__0"] = inference.ToString().TrimEnd('/'),
                // Without a stand-in nothing listens there: key lookups and routing-table fetches fail, which the plain row does not need.
                ["services__orchestrator__http__0"] = orchestrator?.ToString().TrimEnd('/') ?? "http://127.0.0.1:9",
                ["Gateway__Auth__Jwt__SigningKey"] = signingKey,
                ["Gateway__Auth__Jwt__Issuer"] = Issuer,
                ["Gateway__Auth__Jwt__Audience"] = Audience,
                // Limits far above what the run sends: every request still takes a token from the shared bucket.
                ["Gateway__RateLimiting__Default__RequestsPerSecond"] = "1000000",
                ["Gateway__RateLimiting__Default__Burst"] = "10000000",
                ["Logging__LogLevel__Default"] = "Warning",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        return (redis, gateway, new Uri($"http://127.0.0.1:{port}/"), Token(signingKey));
    }

    /// <summary>An HS256 JWT with the <c>infer</c> scope, valid for a day.</summary>
    private static string Token(string signingKey)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);
        var payload = Base64Url(Encoding.UTF8.GetBytes($$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","sub":"benchmark","scope":"infer","nbf":{{now - 60}},"iat":{{now - 60}},"exp":{{now + 86400}}}"""));
        var signature = Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingKey), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
