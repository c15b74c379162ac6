using System.Globalization;

namespace Hyperion.Inference.Protocol;

/// <summary>
/// The REST URLs (<c>ASPNETCORE_URLS</c> / <c>--urls</c>) serve HTTP/1.1 and <c>Inference:GrpcUrl</c> serves
/// cleartext HTTP/2 only (gRPC needs h2c with prior knowledge, which a shared HTTP/1.1 port cannot offer).
/// Kestrel ignores the URLs once any endpoint is configured, so with gRPC on, every URL becomes an explicit endpoint.
/// </summary>
internal static class KestrelListeners
{
    private const string DefaultUrl = "http://localhost:5000";

    public static void Configure(WebApplicationBuilder builder, InferenceProtocolOptions options)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        if (string.IsNullOrWhiteSpace(options.GrpcUrl))
        {
            return;
        }

        var endpoints = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = options.GrpcUrl,
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
        // Kestrel still logs that it "overrides" the URLs: it serves them, as the endpoints above.
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
