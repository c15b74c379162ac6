using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Hyperion.Orchestrator.Notifications;

/// <summary>
/// One HTTP attempt of one delivery: POST the envelope, signed, and say how it went. Its own HttpClient, not the
/// service defaults': those retry (the outbox retries, with back-off, and counts attempts) and resolve service names
/// (webhook URLs are outside the graph). Redirects are not followed: a receiver's URL is what was configured.
/// </summary>
internal sealed class WebhookSender : IDisposable
{
    public const string EventHeader = "X-Hyperion-Event";
    public const string EventIdHeader = "X-Hyperion-Event-Id";
    public const string DeliveryHeader = "X-Hyperion-Delivery";
    public const string DeliveryIdHeader = "X-Hyperion-Delivery-Id";
    public const string TimestampHeader = "X-Hyperion-Timestamp";
    public const string SignatureHeader = "X-Hyperion-Signature";

    private const int ErrorBodyChars = 200;

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        // DNS changes of a receiver are picked up.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Sends <paramref name="body"/>; throws <see cref="OperationCanceledException"/> only when <paramref name="stopping"/> fires.</summary>
    public async Task<WebhookAttemptResult> SendAsync(WebhookEndpointOptions webhook, OutboxRow row, byte[] body, int attempt, CancellationToken stopping)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Hyperion-Webhooks", "1.0"));
        request.Headers.Add(EventHeader, row.EventType);
        request.Headers.Add(EventIdHeader, row.EventId.ToString());
        request.Headers.Add(DeliveryHeader, attempt.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(DeliveryIdHeader, row.Id.ToString());
        request.Headers.Add(TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(SignatureHeader, WebhookSignature.Compute(webhook.Secret!, timestamp, body));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(webhook.TimeoutSeconds));
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new WebhookAttemptResult(true, status, null, Stopwatch.GetElapsedTime(started));
            }
            var excerpt = await ReadExcerptAsync(response, timeout.Token);
            var error = $"HTTP {status} {response.ReasonPhrase}".TrimEnd() + (excerpt.Length > 0 ? $": {excerpt}" : "");
            return new WebhookAttemptResult(false, status, error, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return new WebhookAttemptResult(false, null, $"no answer within {webhook.TimeoutSeconds} s (Orchestrator:Webhooks TimeoutSeconds)", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException ex)
        {
            return new WebhookAttemptResult(false, null, $"request failed: {ex.Message}", Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The start of an error answer's body, on one line: receivers often say there what was wrong.</summary>
    private static async Task<string> ReadExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[ErrorBodyChars * 2];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
            {
                read += n;
            }
            var text = Encoding.UTF8.GetString(buffer, 0, read);
            var builder = new StringBuilder(Math.Min(text.Length, ErrorBodyChars));
            foreach (var c in text)
            {
                if (builder.Length == ErrorBodyChars)
                {
                    break;
                }
                builder.Append(char.IsControl(c) ? ' ' : c);
            }
            return builder.ToString().Trim();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return "";
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>How one attempt went: success on 2xx; otherwise the status (null when there was no answer) and why.</summary>
internal sealed record WebhookAttemptResult(bool Delivered, int? Status, string? Error, TimeSpan Duration);
