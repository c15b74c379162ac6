namespace Hyperion.AppHost.Hosting;

/// <summary>Healthy when GET &lt;url&gt; answers 200, as Aspire's WithHttpHealthCheck.</summary>
internal sealed class HttpHealthProbe(Uri url) : IHealthProbe
{
    // One client for all probes: a probe every few hundred milliseconds must not exhaust sockets.
    private static readonly HttpClient s_client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        using var response = await s_client.GetAsync(url, cancellationToken);
        return response.StatusCode == System.Net.HttpStatusCode.OK;
    }
}
