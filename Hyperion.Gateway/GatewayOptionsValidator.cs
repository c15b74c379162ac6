using System.ComponentModel.DataAnnotations;
using System.Text;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway;

/// <summary>Checks every sub-section's ranges and the rules that span fields (a JWT issuer needs an audience, ...).</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        Check(options, GatewayOptions.SectionName, failures);
        Check(options.Auth, "Gateway:Auth", failures);
        Check(options.Auth.Jwt, "Gateway:Auth:Jwt", failures);
        Check(options.RateLimiting, "Gateway:RateLimiting", failures);
        Check(options.RateLimiting.Default, "Gateway:RateLimiting:Default", failures);
        if (options.RateLimiting.PerModel is { } perModel)
        {
            Check(perModel, "Gateway:RateLimiting:PerModel", failures);
        }
        Check(options.Routing, "Gateway:Routing", failures);
        Check(options.Caching, "Gateway:Caching", failures);
        Check(options.Shadowing, "Gateway:Shadowing", failures);
        Check(options.Resilience, "Gateway:Resilience", failures);

        if (!string.IsNullOrWhiteSpace(options.GrpcUrl)
            && !(Uri.TryCreate(options.GrpcUrl, UriKind.Absolute, out var grpc) && grpc.Scheme == Uri.UriSchemeHttp))
        {
            failures.Add($"Gateway:GrpcUrl '{options.GrpcUrl}' must be an absolute http:// URL (gRPC is served as cleartext HTTP/2), e.g. http://127.0.0.1:5081");
        }

        var jwt = options.Auth.Jwt;
        if (jwt.Enabled)
        {
            if (string.IsNullOrWhiteSpace(jwt.Audience))
            {
                failures.Add("Gateway:Auth:Jwt:Audience is required when JWTs are accepted (the 'aud' tokens must carry)");
            }
            if (!string.IsNullOrWhiteSpace(jwt.Authority) && !Uri.TryCreate(jwt.Authority, UriKind.Absolute, out _))
            {
                failures.Add($"Gateway:Auth:Jwt:Authority '{jwt.Authority}' must be an absolute URL (the issuer whose OpenID metadata holds the signing keys)");
            }
            if (!string.IsNullOrWhiteSpace(jwt.SigningKey))
            {
                if (Encoding.UTF8.GetByteCount(jwt.SigningKey) < 32)
                {
                    failures.Add("Gateway:Auth:Jwt:SigningKey must be at least 32 bytes (HS256)");
                }
                if (string.IsNullOrWhiteSpace(jwt.Issuer))
                {
                    failures.Add("Gateway:Auth:Jwt:Issuer is required with a SigningKey (the 'iss' tokens must carry)");
                }
            }
            if (string.IsNullOrWhiteSpace(jwt.ScopeClaim))
            {
                failures.Add("Gateway:Auth:Jwt:ScopeClaim must name the claim that carries scopes (e.g. 'scope')");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(object section, string path, List<string> failures)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true))
        {
            foreach (var result in results)
            {
                failures.Add($"{path}:{string.Join(",", result.MemberNames)}: {result.ErrorMessage}");
            }
        }
    }
}
