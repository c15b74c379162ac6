using System.Net.Http.Headers;

namespace Hyperion.Benchmarks.Load;

/// <summary>The in-process client: a <see cref="ClosedLoop"/> whose exchange is one POST of the spec's body.</summary>
public sealed class ClosedLoopLoadGenerator : ILoadGenerator
{
    public string Name => "in-process closed loop";

    public Task<LoadResult> RunAsync(LoadSpec spec, CancellationToken cancellationToken)
    {
        var contentType = MediaTypeHeaderValue.Parse(spec.Body.ContentType);
        return ClosedLoop.RunAsync(spec.Concurrency, spec.Duration, async (invoker, token) =>
        {
            var content = new ByteArrayContent(spec.Body.Bytes);
            content.Headers.ContentType = contentType;
            using var request = new HttpRequestMessage(HttpMethod.Post, spec.Url) { Content = content };
            foreach (var (name, value) in spec.Body.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await invoker.SendAsync(request, token);
            // Read to the end, as a client would, into a pooled buffer: the answer itself is not needed.
            await using var body = await response.Content.ReadAsStreamAsync(token);
            await body.CopyToAsync(Stream.Null, token);
            return response.IsSuccessStatusCode;
        }, cancellationToken);
    }
}
