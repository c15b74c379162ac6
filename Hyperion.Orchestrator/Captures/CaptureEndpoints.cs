using System.Globalization;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Security;

namespace Hyperion.Orchestrator.Captures;

/// <summary><c>GET /api/v1/models/{m}/captures</c> (deploy scope: captures may hold what clients sent): the newest captures, of one version with <c>?version=</c>.</summary>
internal static class CaptureEndpoints
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapCaptureEndpoints(this RouteGroupBuilder api)
    {
        // PostgreSQL unreachable answers 503 with Retry-After, as the registry's calls do on the same database.
        api.MapGroup("/models").RequireAuthorization(ScopePolicies.Deploy).WithTags("Model quality")
            .AddEndpointFilter(RegistryDatabaseFilter.InvokeAsync)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .MapGet("/{model}/captures", ListAsync).WithName("ListCaptures")
            .WithSummary("The model's captured requests and responses, newest first; ?version= and ?limit= (1..1000, default 50)");
        return api;
    }

    private static async Task<Results<Ok<CapturesView>, BadRequestProblem, NotFoundProblem>> ListAsync(
        string model, string? version, string? limit, CaptureStore store, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        long? versionNumber = null;
        if (version is not null)
        {
            if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0)
            {
                versionNumber = parsed;
            }
            else
            {
                errors["version"] = [$"version must be a positive whole number (a version of the model), got '{version}'"];
            }
        }
        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit} (default {DefaultLimit}), got '{limit}'"];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Invalid(errors, string.Join("; ", errors.Values.SelectMany(messages => messages)));
        }
        if (!await store.ModelExistsAsync(model, cancellationToken))
        {
            return ModelEndpoints.ModelNotFound(model);
        }
        return TypedResults.Ok(new CapturesView(model, await store.RecentAsync(model, versionNumber, count, cancellationToken)));
    }
}
