using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Hyperion.Tests.ControlPlane;

namespace Hyperion.Tests.Rollouts;

/// <summary>
/// Load through the gateway, as users would send it: a few loops each sending the digits sample to
/// <c>/v2/models/{m}/infer</c> one request after another until stopped, recording every answer (status, the version
/// that answered, when).
/// </summary>
internal sealed class GatewayLoad : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly string _model;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<LoadResult> _results = new();
    private readonly Task[] _loops;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private GatewayLoad(HttpClient client, string model, int loops)
    {
        _client = client;
        _model = model;
        _loops = [.. Enumerable.Range(0, loops).Select(_ => Task.Run(LoopAsync))];
    }

    public static GatewayLoad Start(RolloutAppFixture hyperion, string model, int loops = 3)
    {
        var client = hyperion.CreateApiClient("gateway");
        client.Timeout = TimeSpan.FromSeconds(30);
        return new GatewayLoad(client, model, loops);
    }

    public IReadOnlyList<LoadResult> Results => [.. _results];

    /// <summary>Time since the load started, on the clock <see cref="LoadResult.At"/> uses.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<LoadResult> Failures => [.. _results.Where(result => !result.Ok)];

    public async Task<IReadOnlyList<LoadResult>> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        return Results;
    }

    /// <summary>Waits until at least <paramref name="count"/> answers came from <paramref name="version"/> after <paramref name="since"/>.</summary>
    public async Task WaitForAnswersAsync(string version, int count, TimeSpan since, string what)
    {
        await DeploymentTestSupport.WaitUntilAsync(
            () => Task.FromResult(_results.Count(result => result.Version == version && result.At >= since)),
            seen => seen >= count,
            what);
    }

    public static string Describe(IEnumerable<LoadResult> results) =>
        string.Join("; ", results.Take(10).Select(result => $"{result.At.TotalSeconds:0.00}s v{result.Version} {result.Status} {result.Error}"));

    private async Task LoopAsync()
    {
        var body = DeploymentTestSupport.DigitsRequest;
        while (!_stop.IsCancellationRequested)
        {
            var at = _clock.Elapsed;
            try
            {
                using var response = await _client.PostAsync($"/v2/models/{_model}/infer", new StringContent(body, Encoding.UTF8, "application/json"), _stop.Token);
                var text = await response.Content.ReadAsStringAsync(_stop.Token);
                var version = response.Headers.TryGetValues("X-Hyperion-Model-Version", out var values) ? values.Single() : "?";
                var requestId = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.Single() : null;
                _results.Enqueue(new LoadResult(at, response.StatusCode, version, response.StatusCode == HttpStatusCode.OK ? null : text) { RequestId = requestId });
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException ex)
            {
                _results.Enqueue(new LoadResult(at, 0, "?", ex.Message));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        _client.Dispose();
        _stop.Dispose();
    }
}

/// <param name="At">When the request was sent, since the load started.</param>
internal sealed record LoadResult(TimeSpan At, HttpStatusCode Status, string Version, string? Error)
{
    public bool Ok => Status == HttpStatusCode.OK;

    /// <summary>The <c>X-Request-Id</c> the gateway answered with, which feedback names.</summary>
    public string? RequestId { get; init; }
}
