using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Security;
using Microsoft.Net.Http.Headers;

namespace Hyperion.Orchestrator.Registry.Cards;

/// <summary><c>/api/v1/models/{m}/versions/{v}/card</c>: write a version's model card, read it as JSON or Markdown.</summary>
internal static class ModelCardEndpoints
{
    public static RouteGroupBuilder MapModelCardEndpoints(this RouteGroupBuilder api)
    {
        api.MapPut("/models/{model}/versions/{version}/card", PutAsync).WithName("PutModelCard").WithJsonBody<ModelCardRequest>()
            .WithSummary("Write a version's model card (replaced as a whole): intended_use, limitations, evaluation_metrics, fairness_notes, owner, contact");
        api.MapGet("/models/{model}/versions/{version}/card", GetAsync).WithName("GetModelCard")
            .WithSummary("A version's model card: JSON, or Markdown with the version's facts and lineage with 'Accept: text/markdown'")
            .Produces<string>(StatusCodes.Status200OK, ModelCardMarkdown.MediaType);
        return api;
    }

    private static async Task<Results<Created<ModelCardView>, Ok<ModelCardView>, BodyProblem, BadRequestProblem, NotFoundProblem>> PutAsync(
        string model, string version, HttpRequest request, ClaimsPrincipal user, RegistryStore registry, ModelCardStore cards, CancellationToken cancellationToken)
    {
        if (VersionEndpoints.ParseVersion(version) is not { } number)
        {
            return VersionEndpoints.NotAVersion(version);
        }
        var (body, problem) = await JsonBody.ReadObjectAsync(request, ModelCardCheck.Example, cancellationToken);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var card = ModelCardCheck.Read(body, errors);
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, $"The model card is invalid; expected a body such as {ModelCardCheck.Example}.");
        }
        var written = await cards.PutAsync(model, number, card, ActorClaims.ActorOf(user), cancellationToken);
        return written.Status switch
        {
            CardWriteStatus.Created => TypedResults.Created(CardUrl(model, number), written.Card),
            CardWriteStatus.Replaced => TypedResults.Ok(written.Card),
            _ => (await VersionEndpoints.FindAsync(model, number, registry, cancellationToken)).Missing ?? VersionEndpoints.NoSuchVersion(model, number),
        };
    }

    private static async Task<Results<Ok<ModelCardView>, ContentHttpResult, BadRequestProblem, NotFoundProblem>> GetAsync(
        string model, string version, HttpRequest request, RegistryStore registry, ModelCardStore cards, CancellationToken cancellationToken)
    {
        if (VersionEndpoints.ParseVersion(version) is not { } number)
        {
            return VersionEndpoints.NotAVersion(version);
        }
        var (found, missing) = await VersionEndpoints.FindAsync(model, number, registry, cancellationToken);
        if (found is null)
        {
            return missing!;
        }
        if (await cards.GetAsync(model, number, cancellationToken) is not { } card)
        {
            return ApiProblems.NotFound(
                $"version {number} of '{model}' has no model card yet; write one with PUT {CardUrl(model, number)} and a body such as {ModelCardCheck.Example}");
        }
        if (!WantsMarkdown(request))
        {
            return TypedResults.Ok(card);
        }
        var owner = (await registry.GetModelAsync(model, cancellationToken))!;
        return TypedResults.Text(ModelCardMarkdown.Render(owner, found, card), $"{ModelCardMarkdown.MediaType}; charset=utf-8");
    }

    private static string CardUrl(string model, long version) => $"{VersionEndpoints.Location(model, version)}/card";

    /// <summary>Markdown when the client ranks text/markdown above JSON (by q, then by order); JSON otherwise.</summary>
    private static bool WantsMarkdown(HttpRequest request)
    {
        var accepted = request.GetTypedHeaders().Accept;
        foreach (var type in accepted.OrderByDescending(type => type.Quality ?? 1.0))
        {
            if (type.Quality == 0)
            {
                continue;
            }
            if (type.MediaType.Equals(ModelCardMarkdown.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (type.MatchesMediaType("application/json") || type.MatchesAllTypes)
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>The body of <c>PUT .../card</c>, for the OpenAPI document (text fields also take a list of strings).</summary>
    internal sealed record ModelCardRequest(
        string? IntendedUse,
        string? Limitations,
        IReadOnlyDictionary<string, double>? EvaluationMetrics,
        string? FairnessNotes,
        string? Owner,
        string? Contact);
}
