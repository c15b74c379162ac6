using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Orchestrator.Api;
using Hyperion.Orchestrator.Registry;
using Hyperion.Orchestrator.Registry.Artifacts;
using Hyperion.Orchestrator.Security;
using Hyperion.Orchestrator.Teams;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// <c>POST /api/v1/jobs</c>: reads the multipart parts <c>spec</c> (JSON) and <c>input</c> (a JSONL file, or CSV when
/// it is named <c>*.csv</c> or sent as <c>text/csv</c>), checks the spec and the caller's right to call the target,
/// pins the version, cuts the input into chunks in the artifact store and queues the job. Nothing is queued unless
/// all of that succeeds.
/// </summary>
internal sealed partial class JobSubmission(
    JobStore store,
    JobTargets targets,
    JobInputSplitter splitter,
    IArtifactStore artifacts,
    TeamStore teams,
    IOptions<JobsOptions> options,
    ILogger<JobSubmission> logger)
{
    public const string SpecPart = "spec";
    public const string InputPart = "input";

    private const int MaxSpecBytes = 64 * 1024;
    private const string PartsHelp =
        "send multipart/form-data with a part 'spec' (JSON such as " + JobSpec.Example + ") and a part 'input' (a JSONL file, one instance a line, or a CSV file for a model with one input)";

    public async Task<Results<Accepted<JobView>, BadRequestProblem, ForbiddenProblem, ConflictProblem, TooLargeProblem, UnsupportedMediaTypeProblem>> HandleAsync(
        HttpContext context, ClaimsPrincipal user, CancellationToken cancellationToken)
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
            sizeLimit.MaxRequestBodySize = options.Value.MaxInputBytes + MaxSpecBytes + (64 * 1024);
        }

        string? specText = null;
        IStagedArtifact? input = null;
        var csv = false;
        try
        {
            var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = null };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } name)
                {
                    return ApiProblems.BadRequest($"every part needs 'Content-Disposition: form-data; name=\"...\"'; {PartsHelp}");
                }
                if (name == SpecPart && specText is null)
                {
                    specText = await VersionUpload.ReadTextAsync(section.Body, MaxSpecBytes, cancellationToken);
                    if (specText is null)
                    {
                        return ApiProblems.TooLarge($"part 'spec' is larger than {MaxSpecBytes} bytes");
                    }
                }
                else if (name == InputPart && input is null)
                {
                    // Staged as sent: the spec (which says what a CSV row is) may come after it.
                    input = await artifacts.StageAsync(section.Body, options.Value.MaxInputBytes, cancellationToken);
                    var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? "";
                    csv = fileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
                        || (section.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) ?? false);
                }
                else
                {
                    return ApiProblems.BadRequest(name is SpecPart or InputPart ? $"part '{name}' is given twice; send each part once" : $"unknown part '{name}'; {PartsHelp}");
                }
            }
            if (specText is null || input is null)
            {
                return ApiProblems.BadRequest($"the submission has no '{(specText is null ? SpecPart : InputPart)}' part; {PartsHelp}");
            }
            return await SubmitAsync(specText, input, csv, user, cancellationToken);
        }
        catch (ArtifactTooLargeException)
        {
            return InputTooLarge();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return InputTooLarge();
        }
        catch (InvalidDataException ex)
        {
            return ApiProblems.BadRequest($"the multipart body could not be read: {ex.Message}; {PartsHelp}");
        }
        finally
        {
            if (input is not null)
            {
                await input.DisposeAsync();
            }
        }
    }

    private async Task<Results<Accepted<JobView>, BadRequestProblem, ForbiddenProblem, ConflictProblem, TooLargeProblem, UnsupportedMediaTypeProblem>> SubmitAsync(
        string specText, IStagedArtifact input, bool csv, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        JobSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<JobSpec>(specText, ControlPlaneJson.Options);
        }
        catch (JsonException ex)
        {
            return ApiProblems.BadRequest("part 'spec': " + JsonBody.Describe(ex, typeof(JobSpec), JobSpec.Example));
        }
        if (spec is null)
        {
            return ApiProblems.BadRequest($"part 'spec' is JSON null; expected {JobSpec.Example}.");
        }
        if (spec.Check() is { Count: > 0 } errors)
        {
            return ApiProblems.Invalid(errors, "part 'spec': " + string.Join("; ", errors.Select(error => $"{error.Key}: {string.Join(", ", error.Value)}")));
        }
        var (target, status, problem) = await targets.ResolveAsync(spec.Target!, spec.Version, cancellationToken);
        if (target is null)
        {
            return status == StatusCodes.Status400BadRequest ? ApiProblems.BadRequest(problem!) : ApiProblems.Conflict(problem!);
        }
        var scopes = ActorClaims.ScopesOf(user).ToList();
        var callerTeam = ActorClaims.TeamOf(user);
        foreach (var model in target.Models)
        {
            var modelTeam = callerTeam is null ? null : (await teams.OwnershipAsync(model, cancellationToken)).Team;
            if (Scopes.TeamRefusal(callerTeam, model, modelTeam) is { } refusal)
            {
                return ApiProblems.Forbidden(target.Kind == JobTargetKinds.Pipeline ? $"{refusal} (model '{model}' is a step of pipeline '{target.Name}')." : refusal + ".");
            }
        }
        if (target.Models.FirstOrDefault(model => !Scopes.AllowsInfer(scopes, model)) is { } denied)
        {
            return ApiProblems.Forbidden(target.Kind == JobTargetKinds.Pipeline
                ? $"this key may not call model '{denied}', a step of pipeline '{target.Name}': a pipeline job needs 'infer', 'admin' or 'infer:<model>' for every step's model."
                : $"this key may not call model '{denied}': a job needs 'infer', 'infer:{denied}' or 'admin'.");
        }
        if (csv && target.Inputs.Count != 1)
        {
            return ApiProblems.BadRequest(
                $"a CSV input needs a target with one input; {Describe(target)} takes {target.Inputs.Count} ({string.Join(", ", target.Inputs.Select(i => i.Name))}): send JSONL, one object a line.");
        }

        List<NewChunk> chunks;
        try
        {
            await using var file = File.OpenRead(input.LocalPath);
            chunks = await splitter.SplitAsync(file, csv ? target.Inputs[0].Name : null, cancellationToken);
        }
        catch (LineTooLongException ex)
        {
            return ApiProblems.BadRequest(ex.Message + "; split the instance, or raise the setting.");
        }
        if (chunks.Count == 0)
        {
            return ApiProblems.BadRequest($"part 'input' holds no instances; {PartsHelp}.");
        }

        var secret = spec.WebhookUrl is null ? null : "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var last = chunks[^1];
        var job = await store.InsertAsync(new JobRecord(
            Id: Guid.CreateVersion7(),
            TargetKind: target.Kind,
            Target: target.Name,
            Version: target.Kind == JobTargetKinds.Model ? target.Version : null,
            Revision: target.Kind == JobTargetKinds.Pipeline ? target.Version : null,
            InputFormat: csv ? "csv" : "jsonl",
            State: JobStates.Queued,
            Total: last.FirstLine + last.Lines,
            Done: 0,
            Failed: 0,
            Reason: null,
            WebhookUrl: spec.WebhookUrl,
            CreatedBy: ActorClaims.ActorOf(user),
            CreatedAt: DateTimeOffset.UtcNow,
            StartedAt: null,
            FinishedAt: null), secret, chunks, cancellationToken);
        LogSubmitted(logger, job.Id, Describe(target), job.Total, chunks.Count);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", JobView.From(job, secret));
    }

    private TooLargeProblem InputTooLarge() =>
        ApiProblems.TooLarge($"part 'input' is larger than {JobsOptions.SectionName}:MaxInputBytes ({options.Value.MaxInputBytes} bytes); split it into several jobs.");

    private static string Describe(JobTarget target) => target.Kind == JobTargetKinds.Pipeline
        ? $"pipeline '{target.Name}' (revision {target.Version})"
        : $"version {target.Version} of '{target.Name}'";

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} queued: {Total} lines for {Target}, in {Chunks} chunks")]
    private static partial void LogSubmitted(ILogger logger, Guid jobId, string target, long total, int chunks);
}
