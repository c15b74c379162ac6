using System.Globalization;
using System.Net.Http.Headers;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Sends a batch straight to an inference replica, in the binary tensor extension. Straight, not through the gateway:
/// a job's lines are scored by the one version it pinned, so they take no part in canary splits, shadow copies,
/// capture, the response cache or the gateway's rate limits, all of which are about interactive traffic. Its own
/// HttpClient, not the service defaults': those retry, and a job retries on its own terms (another replica, its
/// chunk's attempts).
/// </summary>
internal sealed class ReplicaInferenceClient : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(120),
    };

    public async Task<BatchAnswer> InferAsync(
        string replicaUrl, string model, long version, IReadOnlyList<(string Input, TensorData Tensor)> inputs, CancellationToken cancellationToken)
    {
        var body = OipBinaryWire.EncodeRequest(inputs, out var headerLength);
        var url = $"{replicaUrl.TrimEnd('/')}/v2/models/{Uri.EscapeDataString(model)}/versions/{version.ToString(CultureInfo.InvariantCulture)}/infer";
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(OipBinaryWire.ContentType);
        request.Headers.TryAddWithoutValidation(OipBinaryWire.HeaderLengthName, headerLength.ToString(CultureInfo.InvariantCulture));
        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var error = OipBinaryWire.ErrorOf(answer) ?? $"HTTP {(int)response.StatusCode}";
                return new BatchAnswer((int)response.StatusCode, null, error);
            }
            var length = response.Headers.TryGetValues(OipBinaryWire.HeaderLengthName, out var values)
                || response.Content.Headers.TryGetValues(OipBinaryWire.HeaderLengthName, out values)
                ? int.Parse(values.First(), NumberStyles.None, CultureInfo.InvariantCulture)
                : -1;
            return new BatchAnswer(200, OipBinaryWire.DecodeResponse(answer, length), null);
        }
        catch (HttpRequestException ex)
        {
            return new BatchAnswer(0, null, $"replica {replicaUrl} did not answer: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new BatchAnswer(0, null, $"replica {replicaUrl} did not answer within {_client.Timeout.TotalSeconds:0} s");
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>A replica's answer: 200 with outputs, or a status (0: none came) and its error.</summary>
internal sealed record BatchAnswer(int Status, List<TensorData>? Outputs, string? Error)
{
    /// <summary>The request itself was wrong (a line's data): sending it again cannot help.</summary>
    public bool IsRequestError => Status is 400 or 413 or 422;
}
