using System.Net.Http.Json;
using Hyperion.Contracts.ControlPlane;
using Microsoft.Extensions.Options;

namespace Hyperion.Inference.ControlPlane;

/// <summary>
/// The two calls a replica makes to the Orchestrator: the heartbeat and the artifact download. Clients come from
/// the factory per call (named <see cref="HttpClientName"/>: service discovery and resilience from ServiceDefaults),
/// so a long-lived agent never pins one connection's DNS answer.
/// </summary>
internal sealed class OrchestratorClient(IHttpClientFactory clients, IOptions<ControlPlaneOptions> options)
{
    public const string HttpClientName = "orchestrator";

    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.Value.RequestTimeoutSeconds);

    public async Task<DesiredModelSet> HeartbeatAsync(string replicaId, ReplicaReport report, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var http = clients.CreateClient(HttpClientName);
        using var response = await http.PutAsJsonAsync(ControlPlaneRoutes.ReplicaHeartbeatFor(replicaId), report, ControlPlaneJson.Options, timeout.Token);
        await EnsureSuccessAsync(response, "heartbeat", timeout.Token);
        return await response.Content.ReadFromJsonAsync<DesiredModelSet>(ControlPlaneJson.Options, timeout.Token)
            ?? throw new HttpRequestException("the orchestrator answered the heartbeat with null");
    }

    /// <summary>Starts the download; the caller streams the body (no time limit on the body, artifacts may be large).</summary>
    public async Task<HttpResponseMessage> GetArtifactAsync(string digest, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        // Not disposed: a factory's clients need no disposal, and disposing one could cut the body the caller still streams.
        var http = clients.CreateClient(HttpClientName);
        var response = await http.GetAsync(ControlPlaneRoutes.ArtifactFor(digest), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        try
        {
            await EnsureSuccessAsync(response, $"artifact {digest}", timeout.Token);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (body.Length > 300)
        {
            body = body[..300] + "…";
        }
        throw new HttpRequestException($"{what}: the orchestrator answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}", null, response.StatusCode);
    }
}
