using Hyperion.Contracts.Codecs;
using System.Diagnostics;
using System.Globalization;
using Hyperion.Contracts.ControlPlane;
using Hyperion.Contracts.Inference;
using Hyperion.Contracts.Tensors;
using Hyperion.Gateway.Caching;
using Hyperion.Gateway.Resilience;
using Hyperion.Gateway.Routing;
using Hyperion.Gateway.Shadowing;
using Hyperion.Gateway.Statistics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Hyperion.Gateway.Pipelines;

/// <summary>
/// Sends one pipeline step to a replica of the version its arm chose, as direct traffic to that version goes: the
/// deployment's response cache answers when it holds the answer, a connect failure moves on to another replica
/// (<see cref="ResilienceOptions.ConnectRetries"/>), replicas whose circuit is open are left out and a replica's
/// failures count toward opening its circuit (<see cref="CircuitBreakerPolicy"/>), the arm's requests,
/// errors and latency count for its rollout, and a stable step is copied to the shadow by the shadow's percent.
/// Its own connections, so that a pipeline's steps never queue behind the proxy's.
/// </summary>
internal sealed partial class PipelineStepClient : IDisposable
{
    private readonly HttpMessageInvoker _http;
    private readonly IConnectionMultiplexer _redis;
    private readonly IProxyStateLookup _proxyState;
    private readonly ArmStatistics _statistics;
    private readonly CircuitBreakerPolicy _circuits;
    private readonly ShadowDispatcher _shadows;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<PipelineStepClient> _logger;
    private readonly TimeSpan _timeout;
    private readonly int _retries;

    public PipelineStepClient(
        IOptions<GatewayOptions> options,
        IConnectionMultiplexer redis,
        IProxyStateLookup proxyState,
        ArmStatistics statistics,
        CircuitBreakerPolicy circuits,
        ShadowDispatcher shadows,
        GatewayMetrics metrics,
        ILogger<PipelineStepClient> logger)
    {
        _redis = redis;
        _proxyState = proxyState;
        _statistics = statistics;
        _circuits = circuits;
        _shadows = shadows;
        _metrics = metrics;
        _logger = logger;
        _timeout = TimeSpan.FromSeconds(options.Value.Resilience.UpstreamTimeoutSeconds);
        _retries = options.Value.Resilience.ConnectRetries;
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            // As the forwarder's: per-request client metrics only when asked for (Gateway:ForwarderClientMetrics).
            MeterFactory = options.Value.ForwarderClientMetrics ? null : Forwarding.GatewayForwarderHttpClientFactory.UnexportedMeters.Instance,
        });
    }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// The arm a step goes to, chosen as <see cref="TrafficPolicyStage"/> chooses for direct traffic: the pinned
    /// version, or canary by its percent (sticky per <c>X-Hyperion-Session</c>), else stable. A problem (503) when none serves.
    /// </summary>
    public static (RoutedArm? Arm, string? Problem) Route(RoutingSnapshot routing, PlannedStep step, string? session)
    {
        if (routing.Find(step.Model) is not { } policy)
        {
            return (null, $"step '{step.Name}': model '{step.Model}' has no deployment; create one with PUT /api/v1/deployments/{step.Model} and a body such as {{\"stable\": 1}}");
        }
        if (step.VersionText is { } pinned)
        {
            return policy.FindPinnedArm(pinned) is { } arm
                ? (arm, null)
                : (null, $"step '{step.Name}': version {pinned} of model '{step.Model}' is not ready on any replica; its deployment must hold it (as stable, canary or shadow)");
        }
        if (policy.StableArm is not { } stable)
        {
            return (null, $"step '{step.Name}': model '{step.Model}' is deployed but no version of it is ready yet; retry shortly");
        }
        return (ArmSelector.ChooseCanary(policy, session) ? policy.CanaryArm! : stable, null);
    }

    public async Task<StepOutcome> SendAsync(PlannedStep step, RoutedArm arm, byte[] body, int headerLength, string? requestId, CancellationToken cancellationToken)
    {
        var target = arm.Target;
        RedisKey? cacheKey = null;
        if (arm.Policy.Cache is { Enabled: true, TtlSeconds: > 0 })
        {
            cacheKey = ResponseCacheStage.Key(arm, "/infer", body, headerLength, out _);
            if (await LookUpAsync(cacheKey) is { } cached)
            {
                return Decode(step, target, cached.Body, cached.HeaderLength, fromCache: true);
            }
        }

        var started = Stopwatch.GetTimestamp();
        var answer = await PostAsync(step, target, body, headerLength, requestId, cancellationToken);
        if (cancellationToken.IsCancellationRequested && answer.Status == 0)
        {
            // Given up because another step failed or the client went away: not the arm's failure.
            return StepOutcome.Failed(step, StatusCodes.Status499ClientClosedRequest, "cancelled");
        }
        var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var outcome = answer.Status == 0 ? ArmOutcome.Error : ArmOutcomes.OfStatus(answer.Status);
        _metrics.ArmRequest(target.Model, target.VersionText, arm.Arm, outcome, milliseconds / 1000);
        if (arm.Arm != RoutedArm.Pinned)
        {
            _statistics.Record(target, arm.Arm, outcome == ArmOutcome.Error, milliseconds);
        }
        if (answer.Status != StatusCodes.Status200OK)
        {
            return StepOutcome.Failed(step, answer.Status == 0 ? answer.FailureStatus : answer.Status, Describe(step, target, answer));
        }

        if (cacheKey is { } key)
        {
            Store(key, arm.Policy.Cache.TtlSeconds, answer);
        }
        if (arm.Arm == ArmStatisticsKeys.Stable && arm.Policy.Shadow is { } shadow && ArmSelector.SampleShadow(arm.Policy))
        {
            // The shadow's requests, errors and latency are counted; its answers are not compared with stable's (binary).
            _shadows.TryEnqueue(new ShadowCopy(shadow, shadow.V2Prefix + "/infer", OipBinaryWire.ContentType,
                headerLength.ToString(CultureInfo.InvariantCulture), body, answer.Body!, StableAnswerIsJson: false));
        }
        return Decode(step, target, answer.Body!, answer.HeaderLength, fromCache: false);
    }

    private async Task<Answer> PostAsync(PlannedStep step, VersionTarget target, byte[] body, int headerLength, string? requestId, CancellationToken cancellationToken)
    {
        var (cluster, replicas) = HealthyReplicas(target.HttpUrls);
        if (replicas.Count == 0)
        {
            return new Answer(0, null, -1, StatusCodes.Status503ServiceUnavailable, "no healthy replica can serve it now; retry shortly");
        }
        // The step's own timeout when it is the shorter one.
        var (limit, setting, own) = step.Timeout is { } shorter && shorter < _timeout
            ? (shorter, $"{shorter.TotalMilliseconds:0} ms (the step's timeout_ms)", true)
            : (_timeout, $"{_timeout.TotalSeconds:0} s (Gateway:Resilience:UpstreamTimeoutSeconds)", false);
        var first = Random.Shared.Next(replicas.Count);
        var attempts = Math.Min(replicas.Count, _retries + 1);
        for (var attempt = 0; ; attempt++)
        {
            var (url, destination) = replicas[(first + attempt) % replicas.Count];
            using var request = new HttpRequestMessage(HttpMethod.Post, string.Concat(url, target.V2Prefix, "/infer"))
            {
                Content = new ByteArrayContent(body),
            };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(OipBinaryWire.ContentType);
            request.Headers.TryAddWithoutValidation(OipBinaryWire.HeaderLengthName, headerLength.ToString(CultureInfo.InvariantCulture));
            if (requestId is not null)
            {
                request.Headers.TryAddWithoutValidation(RequestIdMiddleware.HeaderName, requestId);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(limit);
            try
            {
                using var response = await _http.SendAsync(request, timeout.Token);
                var answer = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                var length = (response.Headers.TryGetValues(OipBinaryWire.HeaderLengthName, out var values)
                        || response.Content.Headers.TryGetValues(OipBinaryWire.HeaderLengthName, out values))
                    && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
                RecordForCircuit(cluster, destination, CircuitBreakerPolicy.IsReplicaFailure((int)response.StatusCode, response.Headers.RetryAfter is not null));
                return new Answer((int)response.StatusCode, answer, length, 0, null);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError && attempt + 1 < attempts)
            {
                // Nothing reached the replica: another one may take it.
                RecordForCircuit(cluster, destination, failed: true);
                _metrics.ConnectRetry();
            }
            catch (HttpRequestException ex)
            {
                RecordForCircuit(cluster, destination, failed: true);
                LogStepFailed(_logger, ex, step.Name, target.Model, target.Version);
                return new Answer(0, null, -1, StatusCodes.Status502BadGateway, "the replica could not be reached or failed while answering");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The upstream timeout counts against the replica, as for proxied calls; a step's shorter timeout_ms is the pipeline's choice.
                if (!own)
                {
                    RecordForCircuit(cluster, destination, failed: true);
                }
                return new Answer(0, null, -1, StatusCodes.Status504GatewayTimeout, $"the replica did not answer within {setting}");
            }
            catch (OperationCanceledException)
            {
                return new Answer(0, null, -1, StatusCodes.Status499ClientClosedRequest, "cancelled");
            }
        }
    }

    private void RecordForCircuit(ClusterState? cluster, DestinationState? destination, bool failed)
    {
        if (cluster is not null && destination is not null)
        {
            _circuits.Record(cluster, destination, failed);
        }
    }

    /// <summary>The replicas YARP's health checks have not taken out (an open circuit, a failed probe), with their state for the circuit breaker.</summary>
    private (ClusterState? Cluster, List<(string Url, DestinationState? Destination)> Replicas) HealthyReplicas(IReadOnlySet<string> urls)
    {
        var healthy = new List<(string, DestinationState?)>(urls.Count);
        _proxyState.TryGetCluster(Routing.GatewayProxyConfigProvider.InferenceCluster, out var cluster);
        foreach (var url in urls)
        {
            DestinationState? destination = null;
            if (cluster?.Destinations.TryGetValue(url, out destination) == true
                && (destination.Health.Passive == DestinationHealth.Unhealthy || destination.Health.Active == DestinationHealth.Unhealthy))
            {
                continue;
            }
            healthy.Add((url, destination));
        }
        return (cluster, healthy);
    }

    private async Task<(ReadOnlyMemory<byte> Body, int HeaderLength)?> LookUpAsync(RedisKey? key)
    {
        if (key is null || !_redis.IsConnected)
        {
            _metrics.Cache(key is null ? "bypass" : "unavailable");
            return null;
        }
        try
        {
            var stored = await _redis.GetDatabase().StringGetAsync(key.Value);
            if (stored.HasValue && CachedResponse.TryDecode((ReadOnlyMemory<byte>)stored, out _, out var headerLength, out var cached))
            {
                _metrics.Cache("hit");
                return (cached, headerLength);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _metrics.Cache("unavailable");
            return null;
        }
        _metrics.Cache("miss");
        return null;
    }

    private void Store(RedisKey key, int ttlSeconds, Answer answer)
    {
        try
        {
            // Fire and forget, as the cache stage stores: a lost store only costs a later miss.
            _redis.GetDatabase().StringSet(key, CachedResponse.Encode(OipBinaryWire.ContentType, answer.HeaderLength, answer.Body), TimeSpan.FromSeconds(ttlSeconds), flags: CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            _metrics.Cache("unavailable");
        }
    }

    private static StepOutcome Decode(PlannedStep step, VersionTarget target, ReadOnlyMemory<byte> body, int headerLength, bool fromCache)
    {
        try
        {
            return StepOutcome.Succeeded(step, target.VersionText, OipBinaryWire.DecodeResponse(body.Span, headerLength), fromCache);
        }
        catch (InferenceException ex)
        {
            return StepOutcome.Failed(step, StatusCodes.Status502BadGateway,
                $"step '{step.Name}' (model '{target.Model}' version {target.VersionText}) answered what the gateway cannot read: {ex.Message}");
        }
    }

    private static string Describe(PlannedStep step, VersionTarget target, Answer answer)
    {
        var subject = $"step '{step.Name}' (model '{target.Model}' version {target.VersionText})";
        if (answer.Status == 0)
        {
            return $"{subject}: {answer.Failure}";
        }
        return OipBinaryWire.ErrorOf(answer.Body) is { } error
            ? $"{subject}: {error}"
            : $"{subject} failed with HTTP {answer.Status}";
    }

    /// <param name="Status">The replica's status; 0 when none answered (<paramref name="FailureStatus"/> and <paramref name="Failure"/> say why).</param>
    private sealed record Answer(int Status, byte[]? Body, int HeaderLength, int FailureStatus, string? Failure);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pipeline step {Step} to {Model} version {Version} failed")]
    private static partial void LogStepFailed(ILogger logger, Exception exception, string step, string model, long version);
}

/// <summary>How one step ended: its outputs (owned, disposed by the run), or the status and message the pipeline answers with.</summary>
internal sealed class StepOutcome : IDisposable
{
    private StepOutcome(PlannedStep step, string? version, List<TensorData>? outputs, bool fromCache, int status, string? error)
    {
        Step = step;
        Version = version;
        Outputs = outputs ?? [];
        FromCache = fromCache;
        Status = status;
        Error = error;
    }

    public PlannedStep Step { get; }

    /// <summary>The version that answered.</summary>
    public string? Version { get; }

    public List<TensorData> Outputs { get; }

    public bool FromCache { get; }

    /// <summary>200, or the status the pipeline answers with.</summary>
    public int Status { get; }

    public string? Error { get; }

    /// <summary>The request rows the step answered (or, failed, was to answer), ascending; null: every row. Set by the run.</summary>
    public int[]? Rows { get; set; }

    public bool Ok => Status == StatusCodes.Status200OK;

    /// <summary>Not run: its condition held for no row, a step it reads did not answer, the run was cancelled, or (a fallback) the step it stands in for answered.</summary>
    public bool Skipped => Status == StatusCodes.Status499ClientClosedRequest;

    /// <summary>Ran, or tried to, and failed: its status and error say how.</summary>
    public bool HasFailed => !Ok && !Skipped;

    public static StepOutcome Succeeded(PlannedStep step, string version, List<TensorData> outputs, bool fromCache) =>
        new(step, version, outputs, fromCache, StatusCodes.Status200OK, null);

    public static StepOutcome Failed(PlannedStep step, int status, string error, int[]? rows = null) =>
        new(step, null, null, false, status, error) { Rows = rows };

    public TensorData? Find(string output)
    {
        foreach (var tensor in Outputs)
        {
            if (tensor.Name == output)
            {
                return tensor;
            }
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var output in Outputs)
        {
            output.Dispose();
        }
    }
}
