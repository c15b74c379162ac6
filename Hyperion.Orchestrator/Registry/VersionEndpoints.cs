using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Orchestrator.Registry.Lifecycle;

namespace Hyperion.Orchestrator.Registry;

/// <summary><c>/api/v1/models/{m}/versions</c>: upload, list, metadata and artifact of immutable numbered versions.</summary>
internal static class VersionEndpoints
{
    public static RouteGroupBuilder MapVersionEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/models/{model}/versions", (string model, HttpContext context, ClaimsPrincipal user, VersionUpload upload, CancellationToken cancellationToken) =>
                upload.HandleAsync(model, context, user, cancellationToken))
            .WithName("UploadModelVersion")
            .WithSummary("Upload a new version: multipart/form-data with 'artifact' (ONNX file) and optional 'config', 'lineage', 'baseline_profile' (JSON)")
            .WithDescription(
                "The artifact is streamed into the content-addressed store, opened with ONNX Runtime and checked against the config " +
                "(completed from the model when absent). Versions are numbered 1, 2, 3... per model and never change.")
            .WithUploadBody()
            .DisableAntiforgery();
        api.MapGet("/models/{model}/versions", ListAsync).WithName("ListModelVersions").WithSummary("A model's versions, newest first");
        api.MapGet("/models/{model}/versions/{version}", GetAsync).WithName("GetModelVersion")
            .WithSummary("A version's metadata: digest, size, config, signature, lineage, baseline profile, who uploaded it and when, its stage and stage history (who moved it, approved it, and why)");
        api.MapMethods("/models/{model}/versions/{version}/artifact", [HttpMethods.Get, HttpMethods.Head], DownloadAsync).WithName("DownloadModelVersionArtifact")
            .WithSummary("The version's model file (application/octet-stream; ETag and Digest carry its SHA-256; HEAD for the headers alone)");
        return api;
    }

    public static string Location(string model, long version) => $"/api/v1/models/{Uri.EscapeDataString(model)}/versions/{version}";

    private static async Task<Results<Ok<IReadOnlyList<VersionSummary>>, NotFoundProblem>> ListAsync(string model, RegistryStore store, CancellationToken cancellationToken) =>
        await store.ListVersionsAsync(model, cancellationToken) is { } versions
            ? TypedResults.Ok<IReadOnlyList<VersionSummary>>(versions)
            : ModelEndpoints.ModelNotFound(model);

    private static async Task<Results<Ok<VersionResource>, BadRequestProblem, NotFoundProblem>> GetAsync(
        string model, string version, RegistryStore store, VersionLifecycleStore lifecycle, CancellationToken cancellationToken)
    {
        if (ParseVersion(version) is not { } number)
        {
            return NotAVersion(version);
        }
        var (found, missing) = await FindAsync(model, number, store, cancellationToken);
        return found is null
            ? missing!
            : TypedResults.Ok(found with { StageHistory = await lifecycle.StageHistoryAsync(model, number, cancellationToken) });
    }

    private static async Task<Results<ArtifactResult, BadRequestProblem, NotFoundProblem, ServerErrorProblem>> DownloadAsync(
        string model, string version, RegistryStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (ParseVersion(version) is not { } number)
        {
            return NotAVersion(version);
        }
        var (found, missing) = await FindAsync(model, number, store, cancellationToken);
        if (found is null)
        {
            return missing!;
        }
        var content = await artifacts.OpenReadAsync(found.Digest, cancellationToken);
        return content is null
            ? ApiProblems.ServerError(
                "Artifact missing",
                $"the artifact {found.Digest} of '{model}' version {found.Version} is missing from the artifact store; upload the model file again to restore it")
            : new ArtifactResult(content, $"{found.Model}-{found.Version}.{found.Format}");
    }

    // The version is taken as text so that "/versions/latest" gets a message, not a bare routing 404.
    internal static long? ParseVersion(string version) =>
        long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number >= 1
            ? number
            : null;

    internal static BadRequestProblem NotAVersion(string version) =>
        ApiProblems.BadRequest($"version '{version}' is not a version number; expected a positive integer");

    internal static async Task<(VersionResource? Version, NotFoundProblem? Missing)> FindAsync(
        string model, long number, RegistryStore store, CancellationToken cancellationToken)
    {
        var found = await store.GetVersionAsync(model, number, cancellationToken);
        if (found is not null)
        {
            return (found, null);
        }
        return (null, await store.GetModelAsync(model, cancellationToken) is null ? ModelEndpoints.ModelNotFound(model) : NoSuchVersion(model, number));
    }

    internal static NotFoundProblem NoSuchVersion(string model, long number) =>
        ApiProblems.NotFound($"model '{model}' has no version {number}; GET /api/v1/models/{model}/versions lists them");
}
