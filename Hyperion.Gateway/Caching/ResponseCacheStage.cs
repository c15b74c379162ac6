using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using Hyperion.Gateway.Buffers;
using Hyperion.Gateway.Pipeline;
using Hyperion.Gateway.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StackExchange.Redis;
using Yarp.ReverseProxy.Forwarder;

namespace Hyperion.Gateway.Caching;

/// <summary>
/// Proxy stage: when the deployment enables the cache, an inference request whose model, version and canonical body
/// (<see cref="CanonicalRequestHash"/>) were answered within the TTL is answered from Redis (<c>X-Cache: HIT</c>);
/// otherwise it is forwarded and a 200 answer stored (<c>X-Cache: MISS</c>). <c>Cache-Control: no-cache</c> (or
/// <c>no-store</c>), a body over <see cref="CachingOptions.MaxBodyBytes"/> and Redis being unreachable bypass it
/// (<c>X-Cache: BYPASS</c>). Keys: <c>hyperion:cache:{model}:{version}:{sha256}</c>.
/// </summary>
internal sealed class ResponseCacheStage(RequestDelegate next, IConnectionMultiplexer redis, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    public const string Header = "X-Cache";
    public const string KeyPrefix = "hyperion:cache:";
    private const string InferenceHeaderLength = "Inference-Header-Content-Length";

    private readonly CachingOptions _options = options.Value.Caching;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Need<ArmChoice>(nameof(ResponseCacheStage)).Arm is not { Policy.Cache: { Enabled: true, TtlSeconds: > 0 } cache } arm)
        {
            return next(context);
        }
        var request = context.Need<RequestClassification>(nameof(ResponseCacheStage));
        if (request.Kind != RequestKind.Infer || request.Shape is not (PathShape.V2Model or PathShape.V1Predict))
        {
            return next(context);
        }
        if (OptsOut(context.Request) || context.Request.ContentLength is not { } length || length > _options.MaxBodyBytes)
        {
            return BypassAsync(context, "bypass");
        }
        return redis.IsConnected ? LookUpAsync(context, request, arm, cache, length) : BypassAsync(context, "unavailable");
    }

    private async Task LookUpAsync(HttpContext context, RequestClassification request, RoutedArm arm, Contracts.ControlPlane.CachePolicy cache, long length)
    {
        var body = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
        try
        {
            var read = await ReadBodyAsync(context.Request, body, (int)length, context.RequestAborted);
            context.Request.Body = new MemoryStream(body, 0, read, writable: false);
            var jsonLength = int.TryParse(context.Request.Headers[InferenceHeaderLength], NumberStyles.None, CultureInfo.InvariantCulture, out var headerLength) ? headerLength : -1;
            if (Key(arm, request.PathRest, body.AsSpan(0, read), jsonLength, out var requestId) is not { } key)
            {
                await BypassAsync(context, "bypass");
                return;
            }

            RedisValue stored;
            try
            {
                // Bounded by the multiplexer's timeout (RedisTimeoutMilliseconds, see GatewayRedis).
                stored = await redis.GetDatabase().StringGetAsync(key);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                await BypassAsync(context, "unavailable");
                return;
            }
            if (stored.HasValue && CachedResponse.TryDecode((ReadOnlyMemory<byte>)stored, out var contentType, out var storedHeaderLength, out var cached))
            {
                metrics.Cache("hit");
                context.Features.Set(ResponseCacheHit.Instance);
                await WriteHitAsync(context, contentType, storedHeaderLength, cached, jsonLength < 0 && request.Shape == PathShape.V2Model, requestId);
                return;
            }

            metrics.Cache("miss");
            context.Response.Headers[Header] = "MISS";
            await ForwardAndStoreAsync(context, key, cache.TtlSeconds);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async Task ForwardAndStoreAsync(HttpContext context, RedisKey key, int ttlSeconds)
    {
        var original = context.Response.Body;
        using var capture = new CapturingWriteStream(original, _options.MaxResponseBytes);
        context.Response.Body = capture;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        if (context.Response.StatusCode != StatusCodes.Status200OK || !capture.Complete
            || context.Features.Get<IForwarderErrorFeature>() is not null || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        var headerLength = int.TryParse(context.Response.Headers[InferenceHeaderLength], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
        var entry = CachedResponse.Encode(context.Response.ContentType ?? "application/json", headerLength, capture.Captured);
        try
        {
            // Fire and forget: the client has its answer; a lost store only costs a later miss.
            await redis.GetDatabase().StringSetAsync(key, entry, TimeSpan.FromSeconds(ttlSeconds), flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            metrics.Cache("unavailable");
        }
    }

    private static async Task WriteHitAsync(HttpContext context, string contentType, int headerLength, ReadOnlyMemory<byte> cached, bool rewriteId, string? requestId)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers[Header] = "HIT";
        response.ContentType = contentType;
        if (headerLength >= 0)
        {
            response.Headers[InferenceHeaderLength] = headerLength.ToString(CultureInfo.InvariantCulture);
        }
        var body = rewriteId ? CachedResponse.WithId(cached, requestId) : cached;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }

    private Task BypassAsync(HttpContext context, string result)
    {
        metrics.Cache(result);
        context.Response.Headers[Header] = "BYPASS";
        return next(context);
    }

    private static bool OptsOut(HttpRequest request)
    {
        foreach (var value in request.Headers.CacheControl)
        {
            if (value is not null && (value.Contains(CacheControlHeaderValue.NoCacheString, StringComparison.OrdinalIgnoreCase)
                || value.Contains(CacheControlHeaderValue.NoStoreString, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The Redis key of an answer to <paramref name="body"/> from the arm's version (pipeline steps share it: <see cref="Pipelines.PipelineStepClient"/>).</summary>
    internal static RedisKey? Key(RoutedArm arm, string pathRest, ReadOnlySpan<byte> body, int jsonLength, out string? requestId)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(pathRest));
        // Binary requests keep their id in the hash: their answers' JSON header is not rewritten.
        if (!CanonicalRequestHash.TryCompute(body, jsonLength, hash, out requestId))
        {
            return null;
        }
        if (jsonLength >= 0 && requestId is not null)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(requestId));
        }
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return string.Concat(KeyPrefix, arm.Target.Model, ":", arm.Target.VersionText, ":", Convert.ToHexStringLower(digest));
    }

    private static async Task<int> ReadBodyAsync(HttpRequest request, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < length)
        {
            var count = await request.Body.ReadAsync(buffer.AsMemory(read, length - read), cancellationToken);
            if (count == 0)
            {
                break;
            }
            read += count;
        }
        return read;
    }
}
