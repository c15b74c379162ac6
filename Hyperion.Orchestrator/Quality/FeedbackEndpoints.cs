using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Persistence;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;
using Npgsql;

namespace Hyperion.Orchestrator.Quality;

/// <summary>
/// <c>POST /api/v1/feedback</c> (deploy scope): ground-truth labels for requests the gateway answered, by the
/// <c>X-Request-Id</c> it answered with or the OIP request <c>id</c>. Labels are upserted (the latest label of a
/// request wins) and kept even when no capture matches yet, so a label that arrives before its capture (or for a
/// request that was not sampled) is counted as unmatched and matches once the capture lands.
/// </summary>
internal static class FeedbackEndpoints
{
    public const int MaxItems = 10_000;
    public const int MaxRequestIdLength = 256;

    public const string Example = """{"model": "digits", "items": [{"request_id": "0HN8...", "label": 3}]}""";

    private static readonly string[] Fields = ["model", "items"];
    private static readonly string[] ItemFields = ["request_id", "label"];

    public static RouteGroupBuilder MapFeedbackEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/feedback", PostAsync).RequireAuthorization(ScopePolicies.Deploy).WithTags("Model quality").WithName("PostFeedback")
            .WithSummary("Ground-truth labels for served requests: {\"model\", \"items\": [{\"request_id\", \"label\"}]} → {\"accepted\", \"unmatched\"}")
            .WithJsonBody<FeedbackRequest>();
        return api;
    }

    private static async Task<Results<Ok<FeedbackAnswer>, BodyProblem, BadRequestProblem, ForbiddenProblem, NotFoundProblem>> PostAsync(
        HttpRequest request, ClaimsPrincipal user, TeamStore teams, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadObjectAsync(request, Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var (model, labels) = Validate(body!, errors);
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The feedback has invalid fields ({string.Join(", ", errors.Keys)}); expected {Example}.");
        }
        // Labels change a model's quality figures: a team's key gives them for its team's models only.
        if (ActorClaims.TeamOf(user) is { } callerTeam
            && Scopes.TeamRefusal(callerTeam, model!, (await teams.OwnershipAsync(model!, cancellationToken)).Team) is { } refusal)
        {
            return ApiProblems.Forbidden(refusal);
        }
        await using var db = await Db.BeginAsync(dataSource, cancellationToken);
        if (!await MonitoredVersion.ModelExistsAsync(db, model!, cancellationToken))
        {
            return ModelEndpoints.ModelNotFound(model!);
        }
        var unmatched = await FeedbackStore.UpsertAsync(db, model!, labels, cancellationToken);
        await db.CommitAsync(cancellationToken);
        return TypedResults.Ok(new FeedbackAnswer(labels.Count, unmatched));
    }

    /// <summary>Every mistake of the body, by field (<c>items[2].label</c>); the labels by request id (a repeated id: the last wins).</summary>
    internal static (string? Model, Dictionary<string, string> Labels) Validate(JsonObject body, Dictionary<string, string[]> errors)
    {
        JsonBody.RejectUnknownFields(body, Fields, errors);
        string? model = null;
        if (!JsonBody.TryGetString(body["model"], out var name) || name.Length == 0)
        {
            errors["model"] = ["must name the model the requests were served by (a non-empty string)"];
        }
        else
        {
            model = name;
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body["items"] is not JsonArray { Count: > 0 } items)
        {
            errors["items"] = ["must be a non-empty array of {\"request_id\", \"label\"} objects"];
            return (model, labels);
        }
        if (items.Count > MaxItems)
        {
            errors["items"] = [string.Create(CultureInfo.InvariantCulture, $"holds {items.Count} items; send at most {MaxItems} a call")];
            return (model, labels);
        }
        for (var i = 0; i < items.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"items[{i}]");
            if (items[i] is not JsonObject item)
            {
                errors[at] = ["must be an object {\"request_id\", \"label\"}"];
                continue;
            }
            foreach (var (field, _) in item)
            {
                if (!ItemFields.Contains(field, StringComparer.Ordinal))
                {
                    errors[$"{at}.{field}"] = [$"unknown field '{field}' (the fields there are {string.Join(", ", ItemFields)})"];
                }
            }
            var id = "";
            if (!JsonBody.TryGetString(item["request_id"], out id) || id.Length == 0 || id.Length > MaxRequestIdLength)
            {
                errors[$"{at}.request_id"] = [string.Create(CultureInfo.InvariantCulture,
                    $"must be the X-Request-Id the gateway answered with, or the OIP request id (a non-empty string of at most {MaxRequestIdLength} characters)")];
            }
            if (!IsLabel(item["label"]))
            {
                errors[$"{at}.label"] = ["must be a class (an integer or a string), a number (regression), or a non-empty array of them with one label per row of a batched request"];
            }
            else if (id.Length is > 0 and <= MaxRequestIdLength)
            {
                labels[id] = item["label"]!.ToJsonString();
            }
        }
        return (model, labels);
    }

    private static bool IsLabel(JsonNode? node) => node switch
    {
        JsonValue value => IsScalar(value),
        JsonArray { Count: > 0 } array => array.All(item => item is JsonValue value && IsScalar(value)),
        _ => false,
    };

    private static bool IsScalar(JsonValue value) => value.GetValueKind() is JsonValueKind.Number or JsonValueKind.String;
}

/// <summary>The body of <c>POST /api/v1/feedback</c>, for OpenAPI (it is read field by field, to name every mistake).</summary>
internal sealed record FeedbackRequest(string Model, IReadOnlyList<FeedbackItem> Items);

/// <param name="Label">A class, a number, or one per row of a batched request.</param>
internal sealed record FeedbackItem(string RequestId, JsonNode Label);

/// <param name="Accepted">Labels stored (a request id sent twice counts once).</param>
/// <param name="Unmatched">Of those, the ones no capture of the model matches yet.</param>
internal sealed record FeedbackAnswer(int Accepted, long Unmatched);

internal static class FeedbackStore
{
    /// <summary>Stores the labels (the latest label of a request wins); returns how many match no capture of the model yet.</summary>
    public static async Task<long> UpsertAsync(Db db, string model, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var ids = labels.Keys.ToArray();
        await using (var upsert = db.Command("""
            INSERT INTO feedback (model, request_id, label)
            SELECT @model, t.request_id, t.label::jsonb FROM unnest(@ids::text[], @labels::text[]) AS t(request_id, label)
            ON CONFLICT (model, request_id) DO UPDATE SET label = excluded.label, received_at = now()
            """))
        {
            upsert.Bind("model", model);
            upsert.Bind("ids", ids);
            upsert.Bind("labels", ids.Select(id => labels[id]).ToArray());
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var unmatched = db.Command("""
            SELECT count(*) FROM unnest(@ids::text[]) AS t(request_id)
            WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.model = @model AND c.request_id = t.request_id)
              AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.model = @model AND c.oip_id = t.request_id)
            """);
        unmatched.Bind("model", model);
        unmatched.Bind("ids", ids);
        return (long)(await unmatched.ExecuteScalarAsync(cancellationToken))!;
    }
}
