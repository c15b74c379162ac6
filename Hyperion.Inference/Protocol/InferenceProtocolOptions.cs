using Microsoft.Extensions.Options;

namespace Hyperion.Inference.Protocol;

/// <summary>The protocol front ends' settings, bound from the <c>Inference</c> section (shared with the engine's options).</summary>
public sealed class InferenceProtocolOptions
{
    public const string SectionName = "Inference";

    /// <summary>Largest request body (REST) or message (gRPC) accepted; larger ones get 413 / RESOURCE_EXHAUSTED.</summary>
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
}

internal sealed class InferenceProtocolOptionsValidator : IValidateOptions<InferenceProtocolOptions>
{
    /// <summary>The largest .NET byte array: a body is read into one.</summary>
    private const long MaxBodyBytes = 2_147_483_591;

    public ValidateOptionsResult Validate(string? name, InferenceProtocolOptions options)
    {
        const string section = InferenceProtocolOptions.SectionName;
        var failures = new OptionsFailures();
        failures.Range(section, options.MaxRequestBodyBytes, 1, MaxBodyBytes);
        if (!string.IsNullOrWhiteSpace(options.GrpcUrl)
            && (!Uri.TryCreate(options.GrpcUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{section}:GrpcUrl '{options.GrpcUrl}' must be an http:// URL such as http://127.0.0.1:8001 (gRPC is served as cleartext HTTP/2), or empty to disable gRPC");
        }
        return failures.Result();
    }
}
