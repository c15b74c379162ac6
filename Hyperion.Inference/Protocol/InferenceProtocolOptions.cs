using System.ComponentModel.DataAnnotations;

namespace Hyperion.Inference.Protocol;

/// <summary>The protocol front ends' settings, bound from the <c>Inference</c> section (shared with the engine's options).</summary>
public sealed class InferenceProtocolOptions : IValidatableObject
{
    public const string SectionName = "Inference";

    /// <summary>Largest request body (REST) or message (gRPC) accepted; larger ones get 413 / RESOURCE_EXHAUSTED.</summary>
    [Range(1, 2_147_483_591, ErrorMessage = "Inference:MaxRequestBodyBytes must be between 1 and 2147483591 (the largest .NET byte array)")]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Where the gRPC service listens as cleartext HTTP/2, e.g. <c>http://127.0.0.1:8001</c>; empty disables gRPC.
    /// The REST URLs (<c>ASPNETCORE_URLS</c> / <c>--urls</c>) then serve HTTP/1.1 only.
    /// </summary>
    public string? GrpcUrl { get; set; }

    /// <summary>
    /// Requests are read, run (when the model runs inline, see <c>Inference:InlineExecutionMaxMicroseconds</c>) and
    /// answered on the socket threads instead of being handed to the thread pool at each step (see
    /// <c>InlineIoExtensions</c>). Off: the default ASP.NET Core scheduling.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(GrpcUrl)
            && (!Uri.TryCreate(GrpcUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult(
                $"Inference:GrpcUrl '{GrpcUrl}' must be an http:// URL such as http://127.0.0.1:8001 (gRPC is served as cleartext HTTP/2), or empty to disable gRPC",
                [nameof(GrpcUrl)]);
        }
    }
}
