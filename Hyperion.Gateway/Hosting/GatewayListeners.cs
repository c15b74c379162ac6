namespace Hyperion.Gateway.Hosting;

/// <summary>Kestrel for the gateway: its body limit, no Server header, inline I/O, and gRPC on <see cref="GatewayOptions.GrpcUrl"/> beside the REST URLs.</summary>
internal static class GatewayListeners
{
    public static void Configure(WebApplicationBuilder builder)
    {
        // Listeners and the socket threads' scheduling are fixed before the host is built, so the section is read
        // here: bound and checked as the injected options are, a bad setting stops the start with the same message.
        var gateway = builder.Configuration.GetValidatedOptions<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.SectionName);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = gateway.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.UseInlineIo(gateway.InlineIo);
        builder.AddGrpcListener(gateway.GrpcUrl);
    }
}
