using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;

namespace Hyperion.Orchestrator.Keys;

/// <summary><c>/api/v1/keys</c>: issue, list, show and revoke API keys (scope <c>admin</c>).</summary>
internal static class KeysEndpoints
{
    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").RequireAuthorization(ScopePolicies.Admin).WithTags("Keys");

        keys.MapPost("/", CreateAsync).WithJsonBody<CreateKeyRequest>().WithName("CreateKey").WithSummary("Issue an API key; the key is in this answer only");
        keys.MapGet("/", ListAsync).WithName("ListKeys").WithSummary("Every key (active, expired and revoked), newest first, without secrets");
        keys.MapGet("/{id}", GetAsync).WithName("GetKey").WithSummary("One key, without its secret");
        keys.MapDelete("/{id}", RevokeAsync).WithName("RevokeKey").WithSummary("Revoke a key (idempotent); refused for the last active admin key");
        return api;
    }

    private static async Task<Results<Created<CreatedApiKey>, BodyProblem, BadRequestProblem>> CreateAsync(
        HttpRequest request, ClaimsPrincipal user, KeyIssuer issuer, TeamStore teams, TimeProvider time, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateKeyRequest>(request, CreateKeyRequest.Expected, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var errors = body!.Validate(time.GetUtcNow());
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, string.Join("; ", errors.Values.SelectMany(messages => messages)));
        }
        if (await teams.MissingAsync(body.NamedTeams(), cancellationToken) is { Count: > 0 } missing)
        {
            return ApiProblems.BadRequest(
                $"the key names {string.Join(", ", missing.Select(team => $"'{team}'"))}, which {(missing.Count == 1 ? "is no team" : "are no teams")}; GET /api/v1/teams lists them, POST /api/v1/teams creates one");
        }
        var created = await issuer.IssueAsync(
            new NewApiKey(body.Name!.Trim(), [.. body.Scopes!.Select(scope => scope!)], body.ExpiresAt?.ToUniversalTime(), body.RateLimit, ActorClaims.ActorOf(user), Team: body.Team),
            cancellationToken);
        return TypedResults.Created($"/api/v1/keys/{created.Id}", created);
    }

    private static async Task<Ok<ApiKeyList>> ListAsync(ApiKeyStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new ApiKeyList(await store.ListAsync(cancellationToken)));

    private static async Task<Results<Ok<ApiKeySummary>, BadRequestProblem, NotFoundProblem>> GetAsync(string id, ApiKeyStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return MalformedId(id);
        }
        return await store.GetAsync(keyId, cancellationToken) is { } key ? TypedResults.Ok(key) : UnknownId(keyId);
    }

    private static async Task<Results<NoContent, BadRequestProblem, NotFoundProblem, ConflictProblem>> RevokeAsync(string id, ClaimsPrincipal user, KeyRevoker revoker, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return MalformedId(id);
        }
        return await revoker.RevokeAsync(keyId, ActorClaims.ActorOf(user), cancellationToken) switch
        {
            RevokeOutcome.Revoked or RevokeOutcome.AlreadyRevoked => TypedResults.NoContent(),
            RevokeOutcome.NotFound => UnknownId(keyId),
            RevokeOutcome.LastAdminKey => ApiProblems.Conflict(
                $"key {keyId} is the last active key with the scope 'admin'; revoking it would lock everyone out of the control plane. Create another admin key first (POST /api/v1/keys with \"scopes\": [\"admin\"]), then revoke this one"),
            var outcome => throw new InvalidOperationException($"unexpected revocation outcome {outcome}"),
        };
    }

    private static BadRequestProblem MalformedId(string id) =>
        ApiProblems.BadRequest($"'{id}' is not a key id; key ids are UUIDs such as the \"id\" that POST /api/v1/keys and GET /api/v1/keys return");

    private static NotFoundProblem UnknownId(Guid id) =>
        ApiProblems.NotFound($"no key with id {id}; GET /api/v1/keys lists every key");
}
