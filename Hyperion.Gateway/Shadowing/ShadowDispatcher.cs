using System.Diagnostics;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Gateway.Capturing;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Statistics;
using Microsoft.Extensions.Options;

namespace Hyperion.Gateway.Shadowing;

/// <summary>
/// Sends shadow copies off the request path: a bounded queue (a full queue drops the copy and counts it, the
/// client never waits) drained by <see cref="ShadowingOptions.Concurrency"/> workers, each copy to a replica where
/// the shadow version is ready. Records the shadow arm's requests, errors and latency, and how its first output
/// compares with stable's. A shadow answer to a captured request goes to <see cref="CaptureWriter"/> as arm
/// <c>shadow</c>, under the request's id.
/// </summary>
internal sealed partial class ShadowDispatcher : BackgroundService
{
    private readonly Channel<ShadowCopy> _queue;
    private readonly ShadowingOptions _options;
    private readonly ArmStatistics _statistics;
    private readonly GatewayMetrics _metrics;
    private readonly CaptureWriter _captures;
    private readonly ILogger<ShadowDispatcher> _logger;
    private readonly HttpMessageInvoker _http;

    public ShadowDispatcher(IOptions<GatewayOptions> options, ArmStatistics statistics, GatewayMetrics metrics, CaptureWriter captures, ILogger<ShadowDispatcher> logger)
    {
        _captures = captures;
        _options = options.Value.Shadowing;
        _statistics = statistics;
        _metrics = metrics;
        _logger = logger;
        _queue = Channel.CreateBounded<ShadowCopy>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            // Wait, not DropWrite: with a Drop mode TryWrite reports success for the item it drops, so the drop could not
            // be counted; TryWrite never waits whatever the mode.
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = false,
        });
        // Its own connections: shadow traffic never queues behind (or ahead of) client traffic in YARP's pool.
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        });
    }

    /// <summary>Queues a copy; false (and counted) when the queue is full.</summary>
    public bool TryEnqueue(ShadowCopy copy)
    {
        if (_queue.Writer.TryWrite(copy))
        {
            return true;
        }
        _metrics.ShadowDropped("queue_full");
        return false;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => WorkAsync(stoppingToken)));

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var copy in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await SendAsync(copy, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: copies still queued are dropped.
        }
    }

    private async Task SendAsync(ShadowCopy copy, CancellationToken stoppingToken)
    {
        var urls = copy.Target.HttpUrls;
        if (urls.Count == 0)
        {
            _metrics.ShadowDropped("no_replica");
            return;
        }
        var url = urls.ElementAt(Random.Shared.Next(urls.Count));
        using var request = new HttpRequestMessage(HttpMethod.Post, url + copy.Path) { Content = new ByteArrayContent(copy.Body) };
        if (copy.ContentType is { } contentType && MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            request.Content.Headers.ContentType = mediaType;
        }
        if (copy.InferenceHeaderLength is { } headerLength)
        {
            request.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", headerLength);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.TimeoutMilliseconds);
        var started = Stopwatch.GetTimestamp();
        var status = 0;
        byte[]? answer = null;
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token);
            status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode && (copy.StableAnswerIsJson || copy.CaptureAs is not null))
            {
                answer = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            }
            if (status == StatusCodes.Status200OK && copy.CaptureAs is { } requestId && answer is not null
                && response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
            {
                _captures.TryEnqueue(new CapturedExchange(copy.Target.Model, copy.Target.VersionText, ArmStatisticsKeys.Shadow, requestId,
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), copy.Body, answer));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
        {
            LogShadowFailed(_logger, ex, copy.Target.Model, copy.Target.Version);
        }
        var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var outcome = status == 0 ? ArmOutcome.Error : ArmOutcomes.OfStatus(status); // 0: no answer at all
        _statistics.Record(copy.Target, ArmStatisticsKeys.Shadow, outcome == ArmOutcome.Error, milliseconds);
        _metrics.ArmRequest(copy.Target.Model, copy.Target.VersionText, ArmStatisticsKeys.Shadow, outcome, milliseconds / 1000);
        if (answer is not null && copy.StableAnswerIsJson && OutputComparer.TryCompare(copy.StableAnswer, answer, out var agreed, out var difference))
        {
            _statistics.RecordComparison(copy.Target, agreed, difference);
            _metrics.ShadowCompared(copy.Target.Model, agreed, difference);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow copy to {Model} version {Version} failed")]
    private static partial void LogShadowFailed(ILogger logger, Exception exception, string model, long version);
}
