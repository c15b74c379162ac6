using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// The REST URL this replica tells the control plane (the gateway sends requests there): the configured
/// <see cref="ControlPlaneOptions.AdvertisedUrl"/>, else the first of ASPNETCORE_URLS / --urls, else the first address
/// the server bound that is not the gRPC one. A wildcard host (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, <c>[::]</c>)
/// is replaced by the machine's name, which resolves to the pod or host on a cluster.
/// </summary>
internal static partial class ReplicaAddress
{
    /// <param name="grpcUrl">The gRPC URL (<c>Inference:GrpcUrl</c>), never advertised as the REST one.</param>
    /// <param name="configuration">The host's <c>urls</c> (ASPNETCORE_URLS / --urls), ASP.NET Core's own setting.</param>
    public static string Resolve(ControlPlaneOptions options, string? grpcUrl, IConfiguration configuration, IServer server)
    {
        if (!string.IsNullOrWhiteSpace(options.AdvertisedUrl))
        {
            return options.AdvertisedUrl.TrimEnd('/');
        }
        var grpc = grpcUrl?.TrimEnd('/');
        var candidates = (configuration["urls"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        foreach (var candidate in candidates)
        {
            var url = candidate.TrimEnd('/');
            if (!string.Equals(url, grpc, StringComparison.OrdinalIgnoreCase))
            {
                return WildcardHost().Replace(url, "${scheme}" + Environment.MachineName.ToLowerInvariant());
            }
        }
        throw new InvalidOperationException(
            $"cannot tell which URL this replica serves REST on; set {ControlPlaneOptions.SectionName}:AdvertisedUrl (e.g. http://10.0.0.5:8000) or ASPNETCORE_URLS");
    }

    [GeneratedRegex(@"^(?<scheme>https?://)(\*|\+|0\.0\.0\.0|\[::\])(?=[:/]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex WildcardHost();
}
