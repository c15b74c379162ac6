using System.Security.Claims;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// What the gateway learnt about one request as it passes the pipeline's stages (classification, authentication,
/// traffic policy); one object per request, kept in <see cref="HttpContext.Features"/>.
/// </summary>
internal sealed class GatewayRequest
{
    public RequestKind Kind { get; set; }

    public ErrorStyle ErrorStyle { get; set; }

    public PathShape Shape { get; set; }

    /// <summary>The model named by the request, when it names one.</summary>
    public string? Model { get; set; }

    /// <summary>The version the client asked for explicitly (path or gRPC <c>model_version</c>), as sent.</summary>
    public string? RequestedVersion { get; set; }

    /// <summary>What follows the model (and version) in the path: <c>/infer</c>, <c>/ready</c>, <c>""</c>, <c>:predict</c>.</summary>
    public string PathRest { get; set; } = "";

    /// <summary>A gRPC request's whole message (5-byte frame header included), read to learn the model.</summary>
    public ReadOnlyMemory<byte> GrpcMessage { get; set; }

    public CallerIdentity? Caller { get; set; }

    /// <summary>Set by the traffic policy once an arm is chosen.</summary>
    public RoutedArm? Arm { get; set; }

    /// <summary>The answer came from the response cache (not counted in the arm's statistics).</summary>
    public bool ServedFromCache { get; set; }

    public static GatewayRequest Of(HttpContext context) =>
        context.Features.Get<GatewayRequest>() ?? throw new InvalidOperationException("The request was not classified.");
}

/// <summary>Who is calling: an API key or a JWT subject, with its scopes and rate-limit plan.</summary>
/// <param name="RateLimitSubject">The bucket's name: <c>key:&lt;id&gt;</c> or <c>jwt:&lt;sub&gt;</c>.</param>
internal sealed record CallerIdentity(string RateLimitSubject, IReadOnlyList<string> Scopes, RateLimitPlan? Plan, ClaimsPrincipal Principal)
{
    /// <summary>The Redis key of the caller's bucket, built once per cached identity.</summary>
    public string RateLimitKey { get; } = RateLimiting.RedisTokenBuckets.SubjectKey(RateLimitSubject);
}
