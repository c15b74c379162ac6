using System.Security.Claims;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Usage;

/// <summary>
/// <c>PUT /api/v1/keys/{id}/quota</c> and <c>PUT /api/v1/teams/{t}/quota</c> (admin): requests per UTC day and per
/// UTC month, which the gateways enforce on top of the rate limits. A team's quota is shared by all its keys.
/// </summary>
internal static class QuotaEndpoints
{
    public const string Example = """{"requests_per_day": 1000, "requests_per_month": 20000} (either may be null or left out: no limit of that kind; both: no quota)""";
    private static readonly string[] Fields = ["requests_per_day", "requests_per_month"];

    public static RouteGroupBuilder MapQuotaEndpoints(this RouteGroupBuilder api)
    {
        api.MapPut("/keys/{id}/quota", PutKeyAsync).RequireAuthorization(ScopePolicies.Admin).WithTags("Usage")
            .WithName("PutKeyQuota").WithJsonBody<QuotaRequest>()
            .WithSummary("Set a key's quota (requests per UTC day and month); the gateways answer 429 once it is used up");
        api.MapPut("/teams/{team}/quota", PutTeamAsync).RequireAuthorization(ScopePolicies.Admin).WithTags("Usage")
            .WithName("PutTeamQuota").WithJsonBody<QuotaRequest>()
            .WithSummary("Set a team's quota, shared by all the team's keys");
        return api;
    }

    private static async Task<Results<Ok<QuotaView>, BodyProblem, BadRequestProblem, NotFoundProblem>> PutKeyAsync(
        string id, HttpRequest request, ClaimsPrincipal user, QuotaStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return ApiProblems.BadRequest($"'{id}' is not a key id; key ids are UUIDs such as the \"id\" that POST /api/v1/keys and GET /api/v1/keys return");
        }
        return await PutAsync(QuotaOwner.Key, keyId.ToString(), request, user, store, $"no key with id {keyId}; GET /api/v1/keys lists every key", cancellationToken);
    }

    private static Task<Results<Ok<QuotaView>, BodyProblem, BadRequestProblem, NotFoundProblem>> PutTeamAsync(
        string team, HttpRequest request, ClaimsPrincipal user, QuotaStore store, CancellationToken cancellationToken) =>
        PutAsync(QuotaOwner.Team, team, request, user, store, $"there is no team named '{team}'; GET /api/v1/teams lists them", cancellationToken);

    private static async Task<Results<Ok<QuotaView>, BodyProblem, BadRequestProblem, NotFoundProblem>> PutAsync(
        QuotaOwner owner, string id, HttpRequest request, ClaimsPrincipal user, QuotaStore store, string notFound, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, Example, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, Fields, errors);
        var perDay = ReadLimit(body, "requests_per_day", errors);
        var perMonth = ReadLimit(body, "requests_per_month", errors);
        if (perDay is not null && perMonth is not null && perMonth < perDay)
        {
            errors["requests_per_month"] = [$"is {perMonth}, less than requests_per_day ({perDay}); a month holds every day of it, so give at least {perDay}, or null"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The quota is invalid: {string.Join("; ", errors.Select(error => $"{error.Key} {string.Join(", ", error.Value)}"))}. Expected {Example}.");
        }
        var quota = new UsageQuota(perDay, perMonth);
        if (!await store.SetAsync(owner, id, quota, ActorClaims.ActorOf(user), cancellationToken))
        {
            return ApiProblems.NotFound(notFound);
        }
        return TypedResults.Ok(new QuotaView(owner == QuotaOwner.Key ? "key" : "team", id, quota.IsEmpty ? null : quota));
    }

    private static long? ReadLimit(JsonObject body, string field, Dictionary<string, string[]> errors)
    {
        if (body[field] is not { } node)
        {
            return null;
        }
        if (node is JsonValue value && value.TryGetValue(out long limit) && limit >= 1)
        {
            return limit;
        }
        errors[field] = [$"must be a whole number of requests of at least 1, or null for no limit; got {node.ToJsonString()}"];
        return null;
    }

    /// <summary>The body, for the OpenAPI document.</summary>
    internal sealed record QuotaRequest(long? RequestsPerDay, long? RequestsPerMonth);

    /// <param name="Owner">"key" or "team".</param>
    internal sealed record QuotaView(string Owner, string Id, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] UsageQuota? Quota);
}
