using System.Security.Claims;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry.Artifacts;

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
            .Produces<VersionResource>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .DisableAntiforgery();
        api.MapGet("/models/{model}/versions", ListAsync)
            .WithName("ListModelVersions")
            .WithSummary("A model's versions, newest first")
            .Produces<VersionSummary[]>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/models/{model}/versions/{version}", GetAsync)
            .WithName("GetModelVersion")
            .WithSummary("A version's metadata: digest, size, config, signature, lineage, baseline profile, who uploaded it and when")
            .Produces<VersionResource>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapMethods("/models/{model}/versions/{version}/artifact", [HttpMethods.Get, HttpMethods.Head], DownloadAsync)
            .WithName("DownloadModelVersionArtifact")
            .WithSummary("The version's model file (application/octet-stream; ETag and Digest carry its SHA-256; HEAD for the headers alone)")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    public static string Location(string model, long version) => $"/api/v1/models/{Uri.EscapeDataString(model)}/versions/{version}";

    private static async Task<IResult> ListAsync(string model, RegistryStore store, CancellationToken cancellationToken) =>
        await store.ListVersionsAsync(model, cancellationToken) is { } versions ? Results.Ok(versions) : ModelEndpoints.ModelNotFound(model);

    private static async Task<IResult> GetAsync(string model, string version, RegistryStore store, CancellationToken cancellationToken)
    {
        var (found, problem) = await FindAsync(model, version, store, cancellationToken);
        return found is null ? problem! : Results.Ok(found);
    }

    private static async Task<IResult> DownloadAsync(string model, string version, RegistryStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var (found, problem) = await FindAsync(model, version, store, cancellationToken);
        if (found is null)
        {
            return problem!;
        }
        var content = await artifacts.OpenReadAsync(found.Digest, cancellationToken);
        return content is null
            ? Results.Problem(
                statusCode: StatusCodes.Status500InternalServerError,
                title: "Artifact missing",
                detail: $"the artifact {found.Digest} of '{model}' version {found.Version} is missing from the artifact store; upload the model file again to restore it")
            : new ArtifactResult(content, $"{found.Model}-{found.Version}.{found.Format}");
    }

    // The version is taken as text so that "/versions/latest" gets a message, not a bare routing 404.
    private static async Task<(VersionResource? Version, IResult? Problem)> FindAsync(
        string model, string version, RegistryStore store, CancellationToken cancellationToken)
    {
        if (!long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return (null, ApiProblems.BadRequest($"version '{version}' is not a version number; expected a positive integer"));
        }
        var found = await store.GetVersionAsync(model, number, cancellationToken);
        if (found is not null)
        {
            return (found, null);
        }
        return (null, await store.GetModelAsync(model, cancellationToken) is null
            ? ModelEndpoints.ModelNotFound(model)
            : ApiProblems.NotFound($"model '{model}' has no version {number}; GET /api/v1/models/{model}/versions lists them"));
    }
}
