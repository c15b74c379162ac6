using System.Net;
using System.Net.Http.Json;
using Hyperion.Contracts.ControlPlane;

namespace Hyperion.Gateway.Routing;

/// <summary>
/// The orchestrator's internal routes, through service discovery (<c>http://orchestrator</c>). No retries here:
/// callers decide what to do when the control plane is down (serve from what they last knew).
/// </summary>
internal sealed class ControlPlaneClient(HttpClient http)
{
    public const string HttpClientName = "control-plane";

    /// <summary>The key's identity, or null for a key the orchestrator does not know (or revoked, or expired).</summary>
    /// <exception cref="HttpRequestException">The orchestrator could not be asked or answered an error.</exception>
    public async Task<KeyIdentity?> LookupKeyAsync(string keyHash, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(ControlPlaneRoutes.KeyLookup, new KeyLookupRequest(keyHash), ControlPlaneJson.Options, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<KeyIdentity>(ControlPlaneJson.Options, cancellationToken)
            ?? throw new HttpRequestException("the orchestrator answered a key lookup with an empty body");
    }

    /// <exception cref="HttpRequestException">The orchestrator could not be asked or answered an error.</exception>
    public async Task<RoutingTable> GetRoutingTableAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(ControlPlaneRoutes.Routing, cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<RoutingTable>(ControlPlaneJson.Options, cancellationToken)
            ?? throw new HttpRequestException("the orchestrator answered the routing table with an empty body");
    }
}
