using System.Security.Claims;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Registry.Lifecycle;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Teams;

/// <summary>
/// <c>/api/v1/teams</c> (create, list, show) and <c>PUT /api/v1/models/{m}/team</c>: all <c>admin</c>, since a team
/// decides which keys may act on which models.
/// </summary>
internal static class TeamEndpoints
{
    public const int MaxDescriptionLength = 1024;
    private const string CreateExample = """{"name": "vision", "description": "image models"}""";
    private const string ModelTeamExample = """{"team": "vision", "reason": "vision owns the digit classifiers"} (or "team": null for no team)""";
    private static readonly string[] CreateFields = ["name", "description"];
    private static readonly string[] ModelTeamFields = ["team", "reason"];

    public static RouteGroupBuilder MapTeamEndpoints(this RouteGroupBuilder api)
    {
        var teams = api.MapGroup("/teams").RequireAuthorization(ScopePolicies.Admin).WithTags("Teams");
        teams.MapPost("/", CreateAsync).WithName("CreateTeam").WithJsonBody<CreateTeamRequest>()
            .WithSummary("Create a team; models (\"team\" at registration, or PUT /api/v1/models/{m}/team) and keys (\"team\" at creation) then belong to it");
        teams.MapGet("/", ListAsync).WithName("ListTeams").WithSummary("Every team, by name, with its count of models and active keys");
        teams.MapGet("/{team}", GetAsync).WithName("GetTeam").WithSummary("One team and the names of its models");

        api.MapPut("/models/{model}/team", SetModelTeamAsync).RequireAuthorization(ScopePolicies.Admin).WithTags("Teams")
            .WithName("SetModelTeam").WithJsonBody<ModelTeamRequest>()
            .WithSummary("Move a model to a team (or to none with \"team\": null); audited as model.team_changed");
        return api;
    }

    public static BadRequestProblem UnknownTeam(string team) =>
        ApiProblems.BadRequest($"there is no team named '{team}'; GET /api/v1/teams lists them, POST /api/v1/teams creates one (admin)");

    private static async Task<Results<Created<TeamResource>, BodyProblem, BadRequestProblem, ConflictProblem>> CreateAsync(
        HttpRequest request, ClaimsPrincipal user, TeamStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, CreateExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, CreateFields, errors);
        if (!JsonBody.TryGetString(body["name"], out var name) || !ResourceName.IsValid(name))
        {
            errors["name"] = [$"must be a string of {ResourceName.Rule}"];
        }
        var description = "";
        if (body["description"] is { } given && (!JsonBody.TryGetString(given, out description) || description.Length > MaxDescriptionLength))
        {
            errors["description"] = [$"must be a string of at most {MaxDescriptionLength} characters"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The team is invalid; expected a body such as {CreateExample}.");
        }
        var team = await store.CreateAsync(name, description, ActorClaims.ActorOf(user), cancellationToken);
        return team is null
            ? ApiProblems.Conflict($"a team named '{name}' already exists; GET /api/v1/teams/{name} shows it")
            : TypedResults.Created($"/api/v1/teams/{Uri.EscapeDataString(name)}", team);
    }

    private static async Task<Ok<TeamList>> ListAsync(TeamStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new TeamList(await store.ListAsync(cancellationToken)));

    private static async Task<Results<Ok<TeamDetail>, NotFoundProblem>> GetAsync(string team, TeamStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(team, cancellationToken) is { } found
            ? TypedResults.Ok(found)
            : ApiProblems.NotFound($"there is no team named '{team}'; GET /api/v1/teams lists them");

    private static async Task<Results<Ok<ModelTeam>, BodyProblem, BadRequestProblem, NotFoundProblem>> SetModelTeamAsync(
        string model, HttpRequest request, ClaimsPrincipal user, TeamStore store, ControlPlaneNotifier notifier, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, ModelTeamExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, ModelTeamFields, errors);
        string? team = null;
        if (!body.ContainsKey("team"))
        {
            errors["team"] = ["is required: a team's name, or null for no team"];
        }
        else if (body["team"] is { } named && (!JsonBody.TryGetString(named, out team) || !ResourceName.IsValid(team)))
        {
            errors["team"] = [$"must be a team's name ({ResourceName.Rule}) or null"];
        }
        string? reason = null;
        if (body["reason"] is JsonNode given && (!JsonBody.TryGetString(given, out reason) || reason.Length > VersionLifecycleEndpoints.MaxReasonLength))
        {
            errors["reason"] = [$"must be a string of at most {VersionLifecycleEndpoints.MaxReasonLength} characters"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The model's team is invalid; expected a body such as {ModelTeamExample}.");
        }
        if (team is not null && !await store.ExistsAsync(team, cancellationToken))
        {
            return UnknownTeam(team);
        }
        if (await store.SetModelTeamAsync(model, team, reason, ActorClaims.ActorOf(user), cancellationToken) is not { } result)
        {
            return ModelEndpoints.ModelNotFound(model);
        }
        if (result.Changed)
        {
            // Gateways refuse a team's key on another team's model from the routing table: let them refetch it now.
            await notifier.PublishAsync(ControlPlaneChannels.RoutingChanged, model);
        }
        return TypedResults.Ok(result.Result);
    }

    /// <summary>The body of <c>POST /api/v1/teams</c>, for the OpenAPI document.</summary>
    internal sealed record CreateTeamRequest(string Name, string? Description);

    /// <summary>The body of <c>PUT /api/v1/models/{m}/team</c>, for the OpenAPI document.</summary>
    internal sealed record ModelTeamRequest(string? Team, string? Reason);
}
