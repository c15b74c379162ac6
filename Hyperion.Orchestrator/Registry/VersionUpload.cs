using System.Diagnostics;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Models;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Orchestrator.Registry.Lineage;
using Hyperion.Orchestrator.Registry.Validation;
using Hyperion.Orchestrator.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using UploadResult = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Created<Hyperion.Orchestrator.Registry.VersionResource>,
    Hyperion.Orchestrator.Api.BadRequestProblem,
    Hyperion.Orchestrator.Api.NotFoundProblem,
    Hyperion.Orchestrator.Api.TooLargeProblem,
    Hyperion.Orchestrator.Api.UnsupportedMediaTypeProblem,
    Hyperion.Orchestrator.Api.UnprocessableProblem>;

namespace Hyperion.Orchestrator.Registry;

/// <summary>
/// <c>POST /api/v1/models/{m}/versions</c>: a multipart/form-data upload read part by part as it arrives. The
/// <c>artifact</c> part is streamed straight into the artifact store's staging area (hashed on the way, never held
/// in memory), opened with the backend that will serve it (ONNX Runtime or LibTorch), checked against the <c>config</c> part, and only then stored under its
/// digest and registered. A failure at any step, or a crash, leaves no version row behind.
/// </summary>
internal sealed partial class VersionUpload(
    RegistryStore store,
    IArtifactStore artifacts,
    ArtifactInspector inspector,
    RegistryMetrics metrics,
    IOptions<OrchestratorOptions> orchestratorOptions,
    IOptions<RegistryOptions> registryOptions,
    ILogger<VersionUpload> logger)
{
    public const string ArtifactPart = "artifact";
    public const string ConfigPart = "config";
    public const string LineagePart = "lineage";
    public const string BaselineProfilePart = "baseline_profile";

    private const string PartsHelp =
        "send multipart/form-data with a part 'artifact' (the ONNX file, or a TorchScript model.pt with a config) and optionally 'config' (the repository config as JSON), " +
        "'lineage' (JSON object) and 'baseline_profile' (JSON object)";

    private static readonly string[] MetadataParts = [ConfigPart, LineagePart, BaselineProfilePart];

    /// <summary>Room for the metadata parts and the multipart framing on top of the artifact.</summary>
    public long MaxRequestBytes
    {
        get
        {
            var overhead = (3L * registryOptions.Value.MaxMetadataPartBytes) + (64 * 1024);
            var artifact = orchestratorOptions.Value.MaxArtifactBytes;
            return artifact > long.MaxValue - overhead ? long.MaxValue : artifact + overhead;
        }
    }

    public async Task<UploadResult> HandleAsync(string model, HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        IResult? result = null;
        try
        {
            var answer = await ReadAndRegisterAsync(model, context, user, cancellationToken);
            result = answer.Result;
            return answer;
        }
        finally
        {
            var registered = result as Created<VersionResource>;
            metrics.RecordUpload((result as IStatusCodeHttpResult)?.StatusCode, Stopwatch.GetElapsedTime(started), registered?.Value?.SizeBytes ?? 0);
        }
    }

    private async Task<UploadResult> ReadAndRegisterAsync(string model, HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return ApiProblems.UnsupportedMediaType(ApiProblems.WrongContentType(request, PartsHelp));
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = MaxRequestBytes;
        }
        if (request.ContentLength > MaxRequestBytes)
        {
            return TooLarge(context);
        }
        if (await store.GetModelAsync(model, cancellationToken) is null)
        {
            return ModelEndpoints.ModelNotFound(model);
        }

        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        IStagedArtifact? staged = null;
        try
        {
            var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = null };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.IsFormDisposition() && !disposition.IsFileDisposition()
                    || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } name)
                {
                    return ApiProblems.BadRequest($"every part needs 'Content-Disposition: form-data; name=\"...\"'; {PartsHelp}");
                }
                if (name == ArtifactPart && staged is null)
                {
                    staged = await artifacts.StageAsync(section.Body, orchestratorOptions.Value.MaxArtifactBytes, cancellationToken);
                }
                else if (MetadataParts.Contains(name) && !parts.ContainsKey(name))
                {
                    if (await ReadTextAsync(section.Body, registryOptions.Value.MaxMetadataPartBytes, cancellationToken) is not { } text)
                    {
                        return ApiProblems.TooLarge(
                            $"part '{name}' is larger than {RegistryOptions.SectionName}:MaxMetadataPartBytes ({registryOptions.Value.MaxMetadataPartBytes} bytes)");
                    }
                    parts[name] = text;
                }
                else
                {
                    return ApiProblems.BadRequest(name == ArtifactPart || MetadataParts.Contains(name)
                        ? $"part '{name}' is given twice; send each part once"
                        : $"unknown part '{name}'; {PartsHelp}");
                }
            }
            if (staged is null)
            {
                return ApiProblems.BadRequest($"the upload has no 'artifact' part; {PartsHelp}");
            }
            return await RegisterAsync(model, staged, parts, ActorClaims.ActorOf(user), cancellationToken);
        }
        catch (ArtifactTooLargeException)
        {
            return TooLarge(context);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(context);
        }
        catch (InvalidDataException ex)
        {
            // MultipartReader's word for a body that is not multipart as declared.
            return ApiProblems.BadRequest($"the multipart body is malformed ({ex.Message}); {PartsHelp}");
        }
        finally
        {
            if (staged is not null)
            {
                await staged.DisposeAsync();
            }
        }
    }

    private async Task<UploadResult> RegisterAsync(string model, IStagedArtifact staged, Dictionary<string, string> parts, string actor, CancellationToken cancellationToken)
    {
        // Malformed parts first (400), then what needs the model file (422).
        ModelConfig givenConfig = new();
        var maxBatchSizeGiven = false;
        if (parts.TryGetValue(ConfigPart, out var configText))
        {
            try
            {
                (givenConfig, maxBatchSizeGiven) = ModelConfigCheck.Parse(configText);
            }
            catch (FormatException ex)
            {
                return ApiProblems.BadRequest($"{ex.Message}; expected the repository config.json fields (platform, max_batch_size, input, output, dynamic_batching, instance_group, ...)");
            }
        }
        string? lineageError = null;
        var lineage = parts.TryGetValue(LineagePart, out var lineageText) ? ParseObject(LineagePart, lineageText, out lineageError) : new JsonObject();
        if (lineage is null)
        {
            return ApiProblems.BadRequest(lineageError!);
        }
        LineageReader.Read(lineage, out var lineageErrors);
        if (lineageErrors.Count > 0)
        {
            return ApiProblems.Invalid(lineageErrors, "the lineage part has fields of the wrong type; see errors.");
        }
        JsonObject? profile = null;
        if (parts.TryGetValue(BaselineProfilePart, out var profileText))
        {
            profile = ParseObject(BaselineProfilePart, profileText, out var profileError);
            if (profile is null)
            {
                return ApiProblems.BadRequest(profileError!);
            }
            if (BaselineProfileCheck.CheckShape(profile) is { Count: > 0 } profileErrors)
            {
                return ApiProblems.Invalid(profileErrors, "the baseline_profile part does not have the expected shape; see errors.");
            }
        }

        ArtifactSignature signature;
        try
        {
            signature = await inspector.InspectAsync(staged.LocalPath, givenConfig, cancellationToken);
        }
        catch (InvalidArtifactException ex)
        {
            LogRefused(logger, ex, model, staged.Digest);
            return ApiProblems.Unprocessable($"the artifact is not a model that can be served: {ex.Message}");
        }
        catch (ConfigMismatchException ex)
        {
            LogRefused(logger, ex, model, staged.Digest);
            return ApiProblems.Unprocessable(ex.Message);
        }
        ModelConfig config;
        try
        {
            config = ModelConfigCheck.Complete(givenConfig, maxBatchSizeGiven, signature, model, registryOptions.Value.DefaultMaxBatchSize);
        }
        catch (ConfigMismatchException ex)
        {
            return ApiProblems.Unprocessable($"{ex.Message}. The model has {ModelConfigCheck.Describe(signature)}");
        }
        if (profile is not null && BaselineProfileCheck.CheckAgainst(profile, config) is { } profileMismatch)
        {
            return ApiProblems.Unprocessable(profileMismatch);
        }

        await staged.CommitAsync(cancellationToken);
        var version = await store.RegisterVersionAsync(new NewVersion(
            Model: model,
            Digest: staged.Digest,
            SizeBytes: staged.SizeBytes,
            Format: signature.Format,
            ConfigJson: ModelConfigCheck.Serialize(config),
            SignatureJson: JsonSerializer.Serialize(signature, ControlPlaneJson.Options),
            LineageJson: lineage.ToJsonString(),
            BaselineProfileJson: profile?.ToJsonString(),
            CreatedBy: actor), cancellationToken);
        if (version is null)
        {
            return ModelEndpoints.ModelNotFound(model);
        }
        LogRegistered(logger, model, version.Version, version.Digest, version.SizeBytes);
        return TypedResults.Created(VersionEndpoints.Location(model, version.Version), version);
    }

    private TooLargeProblem TooLarge(HttpContext context)
    {
        // The rest of an oversize body is not worth reading: close the connection once the answer is sent.
        context.Response.Headers.Connection = "close";
        var limit = orchestratorOptions.Value.MaxArtifactBytes;
        return ApiProblems.TooLarge(
            $"the artifact is larger than {OrchestratorOptions.SectionName}:MaxArtifactBytes ({limit} bytes); upload a smaller file or raise the setting");
    }

    /// <summary>A multipart part as text; null when it is longer than <paramref name="maxBytes"/>.</summary>
    internal static async Task<string?> ReadTextAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static JsonObject? ParseObject(string part, string text, out string? error)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject json)
            {
                error = null;
                return json;
            }
            error = $"part '{part}' must hold a JSON object";
        }
        catch (JsonException ex)
        {
            error = $"part '{part}' is not valid JSON: {ex.Message}";
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered {Model} version {Version} ({Digest}, {SizeBytes} bytes)")]
    private static partial void LogRegistered(ILogger logger, string model, long version, string digest, long sizeBytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused an artifact for {Model} ({Digest})")]
    private static partial void LogRefused(ILogger logger, Exception exception, string model, string digest);
}
