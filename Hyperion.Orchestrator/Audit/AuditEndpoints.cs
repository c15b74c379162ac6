using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Audit;

/// <summary><c>GET /api/v1/audit</c>: who changed what and when, newest first (scope <c>deploy</c> or <c>admin</c>).</summary>
internal static class AuditEndpoints
{
    public static RouteGroupBuilder MapAuditQuery(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", QueryAsync)
            .RequireAuthorization(ScopePolicies.Deploy)
            .WithTags("Audit")
            .WithName("QueryAudit")
            .WithSummary("Audit entries newest first; filter by model, action, actor, since, until; page with limit and before=<next>");
        return api;
    }

    private static async Task<Results<Ok<AuditPage>, BadRequestProblem>> QueryAsync(HttpRequest request, AuditReader reader, CancellationToken cancellationToken)
    {
        var (query, errors) = AuditQuery.Parse(request.Query);
        if (query is null)
        {
            return ApiProblems.Invalid(errors, string.Join("; ", errors.Values.SelectMany(messages => messages)));
        }
        return TypedResults.Ok(await reader.ReadAsync(query, cancellationToken));
    }
}
