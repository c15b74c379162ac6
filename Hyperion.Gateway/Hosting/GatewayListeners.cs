namespace Hyperion.Gateway.Hosting;

/// <summary>Kestrel for the gateway: its body limit, no Server header, inline I/O, and gRPC on <see cref="GatewayOptions.GrpcUrl"/> beside the REST URLs.</summary>
internal static class GatewayListeners
{
    public static void Configure(WebApplicationBuilder builder)
    {
        var maxBody = builder.Configuration.GetValue<long?>("Gateway:MaxRequestBodyBytes") ?? new GatewayOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = maxBody;
            kestrel.AddServerHeader = false;
        });
        builder.UseInlineIo(builder.Configuration.GetValue<bool?>("Gateway:InlineIo") ?? new GatewayOptions().InlineIo);
        builder.AddGrpcListener(builder.Configuration["Gateway:GrpcUrl"]);
    }
}
