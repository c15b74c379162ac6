using System.Globalization;
using System.Net.Http.Headers;
using Hyperion.Contracts.Codecs;
using Hyperion.Contracts.Tensors;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// Sends a job's batch in the binary tensor extension: a model job's straight to an inference replica that serves its
/// version (so its lines take no part in canary splits, shadow copies, capture, the response cache or the gateway's
/// rate limits, all of which are about interactive traffic), a pipeline job's to a gateway, which runs pipelines. Its
/// own HttpClient, not the service defaults': those retry, and a job retries on its own terms (another replica, its
/// chunk's attempts).
/// </summary>
internal sealed class InferenceClient : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>The OIP path that scores <paramref name="target"/>, below a replica's or gateway's base URL.</summary>
    public static string PathOf(JobTarget target) => target.Kind == JobTargetKinds.Pipeline
        ? $"/v2/pipelines/{Uri.EscapeDataString(target.Name)}/infer"
        : $"/v2/models/{Uri.EscapeDataString(target.Name)}/versions/{target.Version.ToString(CultureInfo.InvariantCulture)}/infer";

    /// <param name="bearer">The key a gateway asks for; null for a replica.</param>
    public async Task<BatchAnswer> InferAsync(
        string baseUrl, string path, string? bearer, IReadOnlyList<(string Input, TensorData Tensor)> inputs, CancellationToken cancellationToken)
    {
        var body = OipBinaryWire.EncodeRequest(inputs, out var headerLength);
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl.TrimEnd('/') + path) { Content = new ByteArrayContent(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
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
            return new BatchAnswer(0, null, $"{baseUrl} did not answer: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new BatchAnswer(0, null, $"{baseUrl} did not answer within {_client.Timeout.TotalSeconds:0} s");
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>An answer: 200 with outputs, or a status (0: none came) and its error.</summary>
internal sealed record BatchAnswer(int Status, List<TensorData>? Outputs, string? Error)
{
    /// <summary>The request itself was wrong (a line's data): sending it again cannot help.</summary>
    public bool IsRequestError => Status is 400 or 413 or 422;
}
