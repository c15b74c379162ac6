using System.Security.Claims;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hyperion.Orchestrator.Api;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Deployments;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;

namespace Hyperion.Orchestrator.Registry;

/// <summary><c>/api/v1/models</c>: create, list (filter by tag and task), get, update description and tags.</summary>
internal static partial class ModelEndpoints
{
    public const int MaxDescriptionLength = 4096;
    private const string CreateExample = """{"name": "digits", "task": "classification", "description": "...", "tags": {"stage": "beta"}, "team": "vision" (optional)}""";
    private const string UpdateExample = """{"description": "...", "tags": {"team": "vision"}}""";
    private const string NameRule = "a letter or digit, then letters, digits, '_', '.' or '-', at most 128 characters";
    private static readonly string[] CreateFields = ["name", "task", "description", "tags", "team"];
    private static readonly string[] UpdateFields = ["description", "tags"];

    public static RouteGroupBuilder MapModelEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/models", CreateAsync).WithName("CreateModel").WithJsonBody<CreateModelRequest>()
            .WithSummary("Register a model (name, task, description, tags); its versions are uploaded separately");
        api.MapGet("/models", ListAsync).WithName("ListModels")
            .WithSummary("List models by name; ?tag=key:value (or ?tag=key) and ?task= filter, tags repeatable and all required");
        api.MapGet("/models/{model}", GetAsync).WithName("GetModel").WithSummary("A model with its versions, newest first");
        api.MapPatch("/models/{model}", UpdateAsync).WithName("UpdateModel").WithJsonBody<UpdateModelRequest>()
            .WithSummary("Change a model's description and/or tags (tags are replaced as a whole)");
        return api;
    }

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public static NotFoundProblem ModelNotFound(string model) =>
        ApiProblems.NotFound($"no model named '{model}'; GET /api/v1/models lists them, POST /api/v1/models creates one");

    private static async Task<Results<Created<ModelResource>, BodyProblem, BadRequestProblem, ForbiddenProblem, ConflictProblem>> CreateAsync(
        HttpRequest request, ClaimsPrincipal user, RegistryStore store, TeamStore teams, ControlPlaneNotifier notifier, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, CreateExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, CreateFields, errors);
        if (!JsonBody.TryGetString(body["name"], out var name) || !IsValidName(name))
        {
            errors["name"] = [$"must be a string of {NameRule} (the pattern ^[A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}$)"];
        }
        if (!JsonBody.TryGetString(body["task"], out var task) || !ModelTasks.IsKnown(task))
        {
            errors["task"] = [$"must be one of {ModelTasks.Expected}"];
        }
        var description = ReadDescription(body, errors) ?? "";
        var tags = body["tags"] is null ? [] : ReadTags(body, errors);
        string? team = null;
        if (body["team"] is { } named && (!JsonBody.TryGetString(named, out team) || !ResourceName.IsValid(team)))
        {
            errors["team"] = [$"must be a team's name ({ResourceName.Rule}), or left out"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors);
        }
        // A team's key registers models for its team: by default, and never for another.
        var callerTeam = ActorClaims.TeamOf(user);
        if (callerTeam is not null && team is not null && team != callerTeam)
        {
            return ApiProblems.Forbidden($"the key belongs to team '{callerTeam}' and cannot register model '{name}' for team '{team}'; leave team out (or give \"{callerTeam}\"), or use a key of team '{team}'");
        }
        team ??= callerTeam;
        if (team is not null && !await teams.ExistsAsync(team, cancellationToken))
        {
            return TeamEndpoints.UnknownTeam(team);
        }
        var model = await store.CreateModelAsync(name, task, description, tags!, team, ActorClaims.ActorOf(user), cancellationToken);
        if (model is null)
        {
            return ApiProblems.Conflict($"a model named '{name}' already exists; upload a new version to it with POST /api/v1/models/{name}/versions");
        }
        if (team is not null)
        {
            // Gateways learn models' teams from the routing table: let them refetch it, so the team's keys are admitted now.
            await notifier.PublishAsync(ControlPlaneChannels.RoutingChanged, name);
        }
        return TypedResults.Created($"/api/v1/models/{Uri.EscapeDataString(model.Name)}", model);
    }

    private static async Task<Results<Ok<IReadOnlyList<ModelResource>>, BadRequestProblem>> ListAsync(HttpRequest request, RegistryStore store, CancellationToken cancellationToken)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new List<string>();
        foreach (var filter in request.Query["tag"])
        {
            var separator = filter?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            var key = separator < 0 ? filter ?? "" : filter![..separator];
            if (!ModelTags.IsValidKey(key))
            {
                return ApiProblems.BadRequest($"tag filter '{filter}' is not valid: expected key:value or key, the key being {ModelTags.KeyRule}");
            }
            if (separator < 0)
            {
                keys.Add(key);
            }
            else if (tags.TryGetValue(key, out var other) && other != filter![(separator + 1)..])
            {
                // Both cannot hold: answer the empty list the filter means rather than guessing.
                return TypedResults.Ok<IReadOnlyList<ModelResource>>([]);
            }
            else
            {
                tags[key] = filter![(separator + 1)..];
            }
        }
        var task = request.Query["task"] is { Count: > 0 } taskValues ? taskValues.ToString() : null;
        if (task is not null && !ModelTasks.IsKnown(task))
        {
            return ApiProblems.BadRequest($"task filter '{task}' is not a task; expected one of {ModelTasks.Expected}");
        }
        return TypedResults.Ok<IReadOnlyList<ModelResource>>(await store.ListModelsAsync(tags, keys, task, cancellationToken));
    }

    private static async Task<Results<Ok<ModelDetail>, NotFoundProblem>> GetAsync(string model, RegistryStore store, CancellationToken cancellationToken)
    {
        var found = await store.GetModelAsync(model, cancellationToken);
        if (found is null)
        {
            return ModelNotFound(model);
        }
        var versions = await store.ListVersionsAsync(model, cancellationToken) ?? [];
        return TypedResults.Ok(ModelDetail.Of(found, versions));
    }

    private static async Task<Results<Ok<ModelResource>, BodyProblem, BadRequestProblem, NotFoundProblem>> UpdateAsync(
        string model, HttpRequest request, ClaimsPrincipal user, RegistryStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, UpdateExample, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JsonBody.RejectUnknownFields(body, UpdateFields, errors);
        var description = ReadDescription(body, errors);
        var tags = body["tags"] is null ? null : ReadTags(body, errors);
        if (errors.Count == 0 && description is null && tags is null)
        {
            errors["description"] = ["give description and/or tags to change"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors);
        }
        var updated = await store.UpdateModelAsync(model, description, tags, ActorClaims.ActorOf(user), cancellationToken);
        return updated is null ? ModelNotFound(model) : TypedResults.Ok(updated);
    }

    private static string? ReadDescription(JsonObject body, Dictionary<string, string[]> errors)
    {
        if (body["description"] is null)
        {
            return null;
        }
        if (!JsonBody.TryGetString(body["description"], out var description) || description.Length > MaxDescriptionLength)
        {
            errors["description"] = [$"must be a string of at most {MaxDescriptionLength} characters"];
            return null;
        }
        return description;
    }

    private static Dictionary<string, string>? ReadTags(JsonObject body, Dictionary<string, string[]> errors)
    {
        var tags = ModelTags.Read(body["tags"], out var error);
        if (error is not null)
        {
            errors["tags"] = [error];
        }
        return tags;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex NamePattern();

    /// <summary>The body of <c>POST /api/v1/models</c>, for the OpenAPI document.</summary>
    internal sealed record CreateModelRequest(string Name, string Task, string? Description, IReadOnlyDictionary<string, string>? Tags, string? Team);

    /// <summary>The body of <c>PATCH /api/v1/models/{m}</c>, for the OpenAPI document.</summary>
    internal sealed record UpdateModelRequest(string? Description, IReadOnlyDictionary<string, string>? Tags);
}
