namespace Hyperion.Inference.Protocol;

/// <summary>Kestrel for the inference server: its body limit, inline I/O, and gRPC on <c>Inference:GrpcUrl</c> beside the REST URLs.</summary>
internal static class KestrelListeners
{
    public static void Configure(WebApplicationBuilder builder, InferenceProtocolOptions options)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.UseInlineIo(options.InlineIo);
        builder.AddGrpcListener(options.GrpcUrl);
    }
}
