using System.Reflection;
using Hyperion.Orchestrator.Api;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace Hyperion.Orchestrator.Registry.Artifacts;

/// <summary>
/// Streams a blob as <c>application/octet-stream</c> with its digest in <c>ETag</c> and <c>Digest</c>. The read is
/// verified (<see cref="ArtifactReadStream"/>): when the stored bytes are damaged, a response not yet started
/// becomes a 500 problem, and one already under way is aborted short of its Content-Length so the client cannot
/// take it for the artifact.
/// </summary>
internal sealed partial class ArtifactResult(ArtifactReadStream content, string? fileName) : IResult, IEndpointMetadataProvider
{
    private const int CopyBufferSize = 128 * 1024;

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(void), ["application/octet-stream"]));

    public async Task ExecuteAsync(HttpContext context)
    {
        await using (content)
        {
            var response = context.Response;
            var etag = $"\"{content.Digest}\"";
            response.Headers.ETag = etag;
            response.Headers["Digest"] = ArtifactDigest.ToDigestHeader(content.Digest[ArtifactDigest.Prefix.Length..]);
            if (context.Request.Headers.IfNoneMatch.Any(value => value is not null && value.Contains(etag, StringComparison.Ordinal)))
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            response.ContentType = "application/octet-stream";
            response.ContentLength = content.Length;
            if (fileName is not null)
            {
                var disposition = new ContentDispositionHeaderValue("attachment");
                disposition.SetHttpFileName(fileName);
                response.Headers.ContentDisposition = disposition.ToString();
            }
            if (HttpMethods.IsHead(context.Request.Method))
            {
                return;
            }
            try
            {
                await content.CopyToAsync(response.Body, CopyBufferSize, context.RequestAborted);
            }
            catch (ArtifactCorruptedException ex)
            {
                var logger = context.RequestServices.GetRequiredService<ILogger<ArtifactResult>>();
                LogCorrupted(logger, ex, ex.Digest);
                context.RequestServices.GetRequiredService<RegistryMetrics>().RecordCorruptedRead();
                if (response.HasStarted)
                {
                    context.Abort();
                    return;
                }
                response.Clear();
                await ApiProblems.ServerError("Artifact corrupted", $"{ex.Message}. It is not served; upload the model file again to repair the store.")
                    .ExecuteAsync(context);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused to serve artifact {Digest}")]
    private static partial void LogCorrupted(ILogger logger, Exception exception, string digest);
}
