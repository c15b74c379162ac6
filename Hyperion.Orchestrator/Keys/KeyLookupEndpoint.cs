using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;

namespace Hyperion.Orchestrator.Keys;

/// <summary>
/// <see cref="ControlPlaneRoutes.KeyLookup"/>: gateways resolve a key by its hash (they never send the key). One indexed
/// query; gateways cache the answer briefly and drop it on <see cref="ControlPlaneChannels.KeyRevoked"/>.
/// </summary>
internal static class KeyLookupEndpoint
{
    private const string Expected = """{"key_hash": "<SHA-256 of the whole key, 64 lowercase hex digits>"}""";

    public static RouteGroupBuilder MapKeyLookup(this RouteGroupBuilder cluster)
    {
        cluster.MapPost(ControlPlaneRoutes.KeyLookup["/internal/v1".Length..], LookupAsync)
            .WithName("LookupKey");
        return cluster;
    }

    private static async Task<Results<Ok<KeyIdentity>, BodyProblem, BadRequestProblem, NotFoundProblem>> LookupAsync(HttpRequest request, ApiKeyStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<KeyLookupRequest>(request, Expected, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var hash = ParseHash(body!.KeyHash);
        if (hash is null)
        {
            return ApiProblems.BadRequest($"key_hash must be 64 hex digits (ApiKeyFormat.HashHex of the key); expected {Expected}");
        }
        return await store.FindActiveAsync(hash, cancellationToken) is { } identity
            ? TypedResults.Ok(identity)
            : ApiProblems.NotFound("no active key has this hash: it is unknown, revoked or expired");
    }

    private static byte[]? ParseHash(string? hex)
    {
        if (hex is not { Length: 64 })
        {
            return null;
        }
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return null;
            }
        }
        return Convert.FromHexString(hex);
    }
}
