using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Registry.Lifecycle;

/// <summary>
/// <c>GET|PUT /api/v1/models/{m}/policy</c>: whether moving a version to production needs an approver other than its
/// uploader. Reading it is open to deploy and approve keys; changing it needs <c>approve</c> (or <c>admin</c>), since a
/// deploy key that could turn it off could approve its own versions.
/// </summary>
internal static class ModelPolicyEndpoints
{
    private const string PolicyExample = """{"require_approval": true, "reason": "production models need a second pair of eyes"}""";
    private static readonly string[] PolicyFields = ["require_approval", "reason"];

    public static RouteGroupBuilder MapModelPolicyEndpoints(this RouteGroupBuilder approvals)
    {
        approvals.MapGet("/models/{model}/policy", GetAsync).WithName("GetModelPolicy")
            .WithSummary("The model's approval policy: {\"require_approval\": true|false}");
        approvals.MapPut("/models/{model}/policy", PutAsync).WithName("PutModelPolicy").WithJsonBody<PolicyRequest>()
            .RequireAuthorization(ScopePolicies.Approve)
            .WithSummary("Require (or stop requiring) that an 'approve' key other than the uploader moves versions to production; the deployment's stable must then be a production version");
        return approvals;
    }

    private static async Task<Results<Ok<ModelPolicy>, NotFoundProblem>> GetAsync(string model, RegistryStore store, CancellationToken cancellationToken) =>
        await store.GetModelAsync(model, cancellationToken) is { } found ? TypedResults.Ok(found.Policy) : ModelEndpoints.ModelNotFound(model);

    private static async Task<Results<Ok<ModelPolicy>, BodyProblem, BadRequestProblem, NotFoundProblem, ConflictProblem>> PutAsync(
        string model, HttpRequest request, ClaimsPrincipal user, ModelPolicyStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, PolicyExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, PolicyFields, errors);
        bool? requireApproval = body["require_approval"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue(out bool flag) ? flag : null;
        if (requireApproval is null)
        {
            errors["require_approval"] = ["is required: true (moving a version to production needs an approver other than its uploader) or false"];
        }
        string? reason = null;
        if (body["reason"] is { } given && (!JsonBody.TryGetString(given, out reason) || reason.Length > VersionLifecycleEndpoints.MaxReasonLength))
        {
            errors["reason"] = [$"must be a string of at most {VersionLifecycleEndpoints.MaxReasonLength} characters"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The policy is invalid; expected a body such as {PolicyExample}.");
        }

        var result = await store.SetAsync(model, new ModelPolicy(requireApproval!.Value), reason, ActorClaims.ActorOf(user), cancellationToken);
        return result.Status switch
        {
            PolicyStatus.Done or PolicyStatus.Unchanged => TypedResults.Ok(result.Policy!),
            PolicyStatus.NoModel => ModelEndpoints.ModelNotFound(model),
            _ => ApiProblems.Conflict(result.Conflict!),
        };
    }

    /// <summary>The body of the policy call, for the OpenAPI document.</summary>
    internal sealed record PolicyRequest(bool RequireApproval, string? Reason);
}
