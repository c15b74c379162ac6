using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A service's REST URLs (<c>ASPNETCORE_URLS</c> / <c>--urls</c> / <c>http_ports</c>) on HTTP/1.1 beside a gRPC URL on
/// cleartext HTTP/2 only: gRPC needs h2c with prior knowledge, which a port that also speaks HTTP/1.1 cannot offer
/// without TLS. Kestrel ignores the URLs once any endpoint is configured, so with gRPC on, every URL becomes an
/// explicit endpoint (Kestrel still logs that it "overrides" them: it serves them, as those endpoints).
/// </summary>
public static class GrpcListenerExtensions
{
    private const string DefaultUrl = "http://localhost:5000";

    /// <summary>Adds the gRPC endpoint at <paramref name="grpcUrl"/>; nothing when it is empty (REST only, as Kestrel would).</summary>
    public static WebApplicationBuilder AddGrpcListener(this WebApplicationBuilder builder, string? grpcUrl)
    {
        if (string.IsNullOrWhiteSpace(grpcUrl))
        {
            return builder;
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
        return builder;
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
