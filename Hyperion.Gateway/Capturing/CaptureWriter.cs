using System.Globalization;
using System.Threading.Channels;
using Hyperion.Contracts.ControlPlane;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hyperion.Gateway.Capturing;

/// <summary>
/// Writes captured requests to the Redis stream <see cref="CaptureStream.Key"/> off the request path: a bounded
/// queue (a full queue drops the capture and counts it, the request never waits) drained in batches whose XADDs go
/// out pipelined, each trimming the stream to about <see cref="CapturingOptions.StreamMaxLength"/> entries. A batch
/// gathers for up to <see cref="Linger"/>: a busy gateway then writes to Redis a few times a second, not once per
/// request (a write, a wake-up and a reply per request cost the gateway measurably on a shared machine). While Redis
/// is down captures are dropped and counted: monitoring samples traffic, it does not account for it.
/// </summary>
internal sealed partial class CaptureWriter : BackgroundService
{
    /// <summary>XADDs sent before waiting for their answers; small enough that a batch fits the Redis timeout.</summary>
    private const int BatchSize = 256;

    /// <summary>How long the first capture of a batch waits for others (less when a whole batch is queued).</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(50);

    private readonly Channel<CapturedExchange> _queue;
    private readonly IConnectionMultiplexer _redis;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<CaptureWriter> _logger;
    private readonly int _streamMaxLength;
    private long _lastWarning = -10_000;

    public CaptureWriter(IConnectionMultiplexer redis, IOptions<GatewayOptions> options, GatewayMetrics metrics, ILogger<CaptureWriter> logger)
    {
        _redis = redis;
        _metrics = metrics;
        _logger = logger;
        _streamMaxLength = options.Value.Capturing.StreamMaxLength;
        _queue = Channel.CreateBounded<CapturedExchange>(new BoundedChannelOptions(options.Value.Capturing.QueueCapacity)
        {
            // Wait, not DropWrite: with a Drop mode TryWrite reports success for the item it drops, so the drop could not
            // be counted; TryWrite never waits whatever the mode.
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = true,
        });
    }

    /// <summary>Queues a capture; false (and counted) when the queue is full.</summary>
    public bool TryEnqueue(CapturedExchange capture)
    {
        if (_queue.Writer.TryWrite(capture))
        {
            return true;
        }
        _metrics.Capture("queue_full");
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CapturedExchange>(BatchSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                if (_queue.Reader.Count < BatchSize)
                {
                    await Task.Delay(Linger, stoppingToken);
                }
                while (_queue.Reader.TryRead(out var capture))
                {
                    batch.Add(capture);
                    if (batch.Count == BatchSize)
                    {
                        await WriteAsync(batch);
                        batch.Clear();
                    }
                }
                if (batch.Count > 0)
                {
                    await WriteAsync(batch);
                    batch.Clear();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: captures still queued are dropped.
        }
    }

    private async Task WriteAsync(List<CapturedExchange> batch)
    {
        var database = _redis.GetDatabase();
        var writes = new Task<RedisValue>[batch.Count];
        // Issued one after the other without awaiting: the multiplexer pipelines them on one connection.
        for (var i = 0; i < batch.Count; i++)
        {
            writes[i] = database.StreamAddAsync(CaptureStream.Key, Fields(batch[i]), maxLength: _streamMaxLength, useApproximateMaxLength: true);
        }
        try
        {
            await Task.WhenAll(writes);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            WarnUnavailable(ex);
        }
        var written = writes.Count(write => write.IsCompletedSuccessfully);
        _metrics.Capture("written", written);
        _metrics.Capture("redis_unavailable", batch.Count - written);
    }

    private static NameValueEntry[] Fields(CapturedExchange capture) =>
    [
        new(CaptureStream.Model, capture.Model),
        new(CaptureStream.Version, capture.Version),
        new(CaptureStream.Arm, capture.Arm),
        new(CaptureStream.RequestId, capture.RequestId),
        new(CaptureStream.CapturedAt, capture.CapturedAt.ToString(CultureInfo.InvariantCulture)),
        new(CaptureStream.Request, capture.Request),
        new(CaptureStream.Response, capture.Response),
    ];

    private void WarnUnavailable(Exception exception)
    {
        // One warning per 10 s at most: an outage must not flood the log.
        var now = Environment.TickCount64;
        if (now - _lastWarning > 10_000)
        {
            _lastWarning = now;
            LogWriteFailed(_logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Captured requests could not be written to Redis and were dropped (counted as hyperion_gateway_captures_total, outcome redis_unavailable)")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);
}
