using System.Globalization;

namespace Hyperion.Gateway.Hosting;

/// <summary>
/// REST on the URLs (<c>ASPNETCORE_URLS</c> / <c>--urls</c>, HTTP/1.1) and gRPC on <see cref="GatewayOptions.GrpcUrl"/>
/// (cleartext HTTP/2 with prior knowledge, which a port that also speaks HTTP/1.1 cannot offer without TLS).
/// Kestrel ignores the URLs once any endpoint is configured, so with gRPC on, every URL becomes an explicit endpoint.
/// </summary>
internal static class GatewayListeners
{
    private const string DefaultUrl = "http://localhost:5000";

    public static void Configure(WebApplicationBuilder builder)
    {
        var maxBody = builder.Configuration.GetValue<long?>("Gateway:MaxRequestBodyBytes") ?? new GatewayOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = maxBody;
            kestrel.AddServerHeader = false;
        });
        var grpcUrl = builder.Configuration["Gateway:GrpcUrl"];
        if (string.IsNullOrWhiteSpace(grpcUrl))
        {
            return;
        }
        var endpoints = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = grpcUrl,
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
        };
        var index = 0;
        foreach (var url in RestUrls(builder.Configuration))
        {
            var name = "Http" + index.ToString(CultureInfo.InvariantCulture);
            endpoints[$"Kestrel:Endpoints:{name}:Url"] = url;
            endpoints[$"Kestrel:Endpoints:{name}:Protocols"] = "Http1";
            index++;
        }
        builder.Configuration.AddInMemoryCollection(endpoints);
    }

    private static IEnumerable<string> RestUrls(IConfiguration configuration)
    {
        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        var ports = configuration["http_ports"];
        if (!string.IsNullOrWhiteSpace(ports))
        {
            return ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(port => $"http://*:{port}");
        }
        return [DefaultUrl];
    }
}
